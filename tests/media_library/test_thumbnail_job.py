"""The `thumbnails` job end to end on a real worker: good images get renditions, bad ones fail
that item with a reason and a placeholder, and the job ends `partial`, not crashed."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from devtools.processes import wait_until
from jobs.models import Job, JobFailure
from jobs.services import submit
from media_library.models import Blob, MediaFile
from media_library.storage import rendition_name
from tests.support.imaging_samples import encode, photo_like

pytestmark = pytest.mark.django_db(transaction=True)


def stored_file(owner, data, name, fmt="JPEG", size=(640, 480)):
    sha = hashlib.sha256(data).hexdigest()
    blob = Blob.objects.create(sha256=sha, size=len(data), format=fmt, width=size[0], height=size[1])
    default_storage.save(blob.storage_name, ContentFile(data))
    return MediaFile.objects.create(owner=owner, name=name, blob=blob, size=blob.size)


def test_thumbnails_job_with_a_damaged_image_ends_partial(celery_worker, make_user, client):
    owner = make_user()
    good = [
        stored_file(
            owner, encode(photo_like(640 + n, 480), "JPEG", quality=90), f"good{n}.jpg", size=(640 + n, 480)
        )
        for n in range(3)
    ]
    full = encode(photo_like(800, 600), "JPEG", quality=90)
    damaged = stored_file(owner, full[: len(full) // 2], "damaged.jpg", size=(800, 600))

    job = submit("thumbnails", owner, [f.pk for f in [*good, damaged]])
    job = wait_until(
        lambda: Job.objects.filter(pk=job.pk, finished__isnull=False).first(), 60, "thumbnails job"
    )

    assert (job.status, job.done, job.failed) == ("partial", 3, 1)
    [failure] = JobFailure.objects.filter(job=job)
    assert failure.item_id == damaged.pk and "truncated or corrupt" in failure.reason
    for file in good:
        assert default_storage.exists(rendition_name(file.blob.sha256, 256))
        assert default_storage.exists(rendition_name(file.blob.sha256, 1024))
    client.force_login(owner)
    response = client.get(f"/files/{damaged.pk}/thumb/256/")
    assert response.status_code == 302 and "failed" in response["Location"]  # the placeholder
    assert client.get(f"/files/{damaged.pk}/download/").status_code == 200  # the file stays usable
    assert client.get(f"/files/{good[0].pk}/thumb/256/")["Content-Type"] == "image/webp"


def test_regenerate_thumbnails_from_the_action_bar_remakes_ready_ones(celery_worker, make_user, client):
    """The bulk action remakes renditions that already exist (a stale or damaged one is replaced)."""
    import re

    from django.urls import reverse

    from media_library.folders import create_folder
    from tests.support.images import webp_bytes

    owner = make_user()
    folder = create_folder(owner.pk, None, "Photos")
    files = [
        stored_file(
            owner, encode(photo_like(640, 480 + n), "JPEG", quality=90), f"p{n}.jpg", size=(640, 480 + n)
        )
        for n in range(3)
    ]
    MediaFile.objects.filter(pk__in=[f.pk for f in files]).update(folder=folder)
    first = submit("thumbnails", owner, [f.pk for f in files])
    wait_until(lambda: Job.objects.filter(pk=first.pk, finished__isnull=False).exists(), 60, "thumbnails job")
    made = {}
    for file in files:  # ready: now replace each rendition with a stale one (what a regenerate fixes)
        assert Blob.objects.get(pk=file.blob_id).thumbnail_status == "ready"
        name = rendition_name(file.blob.sha256, 256)
        with default_storage.open(name, "rb") as handle:
            made[name] = handle.read()
        default_storage.delete(name)
        default_storage.save(name, ContentFile(webp_bytes(2, 2, seed=9)))

    client.force_login(owner)
    data = {"action": "thumbnails", "scope": "all", "folder_id": folder.pk, "q": "", "sort": "name"}
    response = client.post(reverse("media_library:submit_action"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 202
    html = response.content.decode()
    assert '<a class="job-title"' in html and ">Regenerate thumbnails</a>" in html  # the card says so
    job_id = re.search(r'id="job-([0-9a-f-]+)"', html).group(1)
    job = wait_until(lambda: Job.objects.filter(pk=job_id, finished__isnull=False).first(), 60, "regenerate")

    assert (job.kind, job.status, job.done, job.params) == (
        "regenerate_thumbnails",
        "succeeded",
        3,
        {"force": True},
    )
    for name, original in made.items():
        with default_storage.open(name, "rb") as handle:
            assert handle.read() == original  # rendered again from the original bytes
