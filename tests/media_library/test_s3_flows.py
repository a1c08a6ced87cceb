"""MEDIA_STORAGE=s3 end to end against the session's real SeaweedFS: the real S3 Celery worker and
daphne, storage outages made by stopping the server (same ports and data, started again), and
what each step costs in S3 requests."""

import hashlib
import json
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

import jobs
from devtools.processes import wait_until
from jobs.models import Job, JobChunk
from media_library import storage
from media_library.api.tokens import create_api_token
from media_library.ingest import ingest_uploads
from media_library.kinds.thumbnails import THUMBNAILS_KIND
from media_library.maintenance import orphans
from media_library.models import Archive, Blob, MediaFile
from media_library.operations.delete import delete_permanently, remove_blob_files
from media_library.operations.trash import trash
from media_library.storage import StorageUnavailable
from project.media_storage import media_storage
from tests.support import images
from tests.support.images import upload
from tests.support.multipart import post_files
from tests.support.s3_requests import S3RequestCounter


@contextmanager
def outage(seaweedfs):
    """The S3 server is down inside the block, up again (same ports, same objects) after it."""
    seaweedfs.stop()
    try:
        yield
    finally:
        seaweedfs.restart()


@pytest.fixture
def impatient_s3(s3_storage, seaweedfs, settings):
    """The same bucket, with botocore trying once: an outage surfaces at once (the product's
    default, 5 attempts with back-off, rides out a blip of a few seconds by itself)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": media_storage({**seaweedfs.env, "AWS_MAX_ATTEMPTS": "1"}),
    }
    from django.core.files.storage import default_storage

    return default_storage


def body_of(response):
    async def collect(blocks):
        return b"".join([block async for block in blocks])

    return async_to_sync(collect)(response.streaming_content)


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.mark.django_db
def test_an_outage_or_a_refusal_is_storage_unavailable_and_a_missing_key_is_not(
    impatient_s3, seaweedfs, settings
):
    sha = hashlib.sha256(b"kept").hexdigest()
    impatient_s3.save(storage.blob_name(sha), ContentFile(b"kept"))
    with pytest.raises(FileNotFoundError):
        storage.open_blob_bytes("0" * 64)
    opened_before = storage.open_blob_bytes(sha)  # HEAD now; the GET waits for the first read
    with outage(seaweedfs):
        with pytest.raises(StorageUnavailable):
            opened_before.read()
        for call in (
            lambda: storage.blob_bytes_exist(sha),
            lambda: storage.open_blob_bytes(sha),
            lambda: storage.save_rendition(sha, 256, b"webp"),
            lambda: storage.delete_stored_names([storage.blob_name(sha)]),
            lambda: list(storage.list_stored("blobs")),
            lambda: storage.stored_size(storage.blob_name(sha)),  # an outage is not "missing"
        ):
            with pytest.raises(StorageUnavailable):
                call()
        remove_blob_files([sha])  # after a delete's commit: logged, left to the orphan sweep
    assert storage.blob_bytes_exist(sha)

    refusing = media_storage({**seaweedfs.env, "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_MAX_ATTEMPTS": "1"})
    settings.STORAGES = {**settings.STORAGES, "default": refusing}
    with pytest.raises(StorageUnavailable, match="refused"):  # a 403, not a 404: not "missing"
        storage.blob_bytes_exist(sha)


@pytest.mark.django_db
def test_an_upload_during_an_outage_answers_503_and_stores_nothing(impatient_s3, seaweedfs, make_user):
    owner = make_user()
    _token, key = create_api_token(owner)
    photos = [(f"o{n}.jpg", images.jpeg_bytes(64, 48, seed=700 + n)) for n in range(2)]
    client = Client()
    with outage(seaweedfs):
        response = post_files(client, "/api/files/", photos, **bearer(key))
    assert response.status_code == 503
    assert response["Retry-After"] == "10" and response["Content-Type"] == "application/json"
    body = response.json()
    assert "storage is unavailable" in body["error"]
    assert body["files"] == [] and body["not_stored"] == [0, 1]
    assert not MediaFile.objects.filter(owner=owner).exists() and not Blob.objects.exists()

    again = post_files(client, "/api/files/", photos, **bearer(key))  # what the client does next
    assert again.status_code == 201 and [f["name"] for f in again.json()["files"]] == ["o0.jpg", "o1.jpg"]
    assert len(seaweedfs.keys("blobs/")) == 2


@pytest.mark.django_db
def test_a_page_that_reads_storage_during_an_outage_is_a_readable_503(impatient_s3, seaweedfs, make_user):
    owner = make_user()
    impatient_s3.save("archives/x/part-000000-a", ContentFile(b"zip bytes"))
    job = Job.objects.create(kind="archive", owner=owner, status=Job.Status.SUCCEEDED)
    Archive.objects.create(
        job=job, owner=owner, name="Trip.zip", status=Archive.Status.READY, size=9,
        stored_objects=[["archives/x/part-000000-a", 9]], expires_at=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    client = Client()
    client.force_login(owner)
    with outage(seaweedfs):
        response = client.get(f"/archives/{job.pk}/download/")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert response["Content-Type"].startswith("text/html")
    assert "The file storage is unavailable" in response.content.decode()
    streamed = client.get(f"/archives/{job.pk}/download/")  # up again: a ZIP still streams
    assert streamed.status_code == 200 and body_of(streamed) == b"zip bytes"


@pytest.mark.django_db(transaction=True)
def test_a_thumbnails_job_rides_out_a_storage_outage(s3_storage, seaweedfs, only_s3_worker, make_user):
    owner = make_user()
    uploads = [upload(f"t{n}.jpg", images.jpeg_bytes(640, 480, seed=800 + n)) for n in range(80)]
    ids = [item.file.pk for item in ingest_uploads(owner, uploads, thumbnails=False).stored]
    job = jobs.submit(THUMBNAILS_KIND, owner, ids)  # 4 chunks of 20
    chunks = JobChunk.objects.filter(job=job)
    wait_until(
        lambda: chunks.filter(status=JobChunk.Status.DONE).exists(), 60, "a first chunk", only_s3_worker
    )
    with outage(seaweedfs):
        # The outage lasts until the worker has met it: a chunk is waiting for its retry.
        wait_until(lambda: chunks.filter(retries__gte=1).exists(), 60, "a chunk retried", only_s3_worker)
    wait_until(lambda: Job.objects.get(pk=job.pk).finished, 90, "the thumbnails job", only_s3_worker)
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == (Job.Status.SUCCEEDED, 80, 0)
    blobs = Blob.objects.filter(files__owner=owner)
    assert not blobs.filter(thumbnail_status=Blob.Thumbnail.FAILED).exists()
    assert blobs.filter(thumbnail_status=Blob.Thumbnail.READY).count() == 80
    assert len(seaweedfs.keys("thumbs/")) == 160


def _server_delta(seaweedfs, before):
    after = seaweedfs.request_totals()
    return {kind: after[kind] - before.get(kind, 0) for kind in after if after[kind] - before.get(kind, 0)}


def _fetch(url, **headers):
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(request, timeout=30)
    except urllib.error.HTTPError as error:  # a 3xx or 4xx, with its headers
        return error


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.django_db(transaction=True)
def test_ingest_thumbnails_redirects_delete_and_sweep_on_s3(
    s3_storage, seaweedfs, s3_live_server_url, only_s3_worker, make_user, capsys
):
    """Upload (API) -> thumbnails (the S3 worker) -> download, view and thumbnail redirects
    (through daphne, followed with plain HTTP) -> permanent delete -> orphan sweep."""
    owner, stranger = make_user(), make_user()
    _token, key = create_api_token(owner)
    _token, stranger_key = create_api_token(stranger)
    photos = [(f"Été à Paris {n}.jpg", images.jpeg_bytes(320, 240, seed=600 + n)) for n in range(4)]
    costs = {}

    # Ingest through the API (in this process, so every request is counted as it leaves).
    with S3RequestCounter(s3_storage) as requests:
        response = post_files(Client(), "/api/files/", photos, **bearer(key))
    assert response.status_code == 201
    files = response.json()["files"]
    costs["upload of 4 new files"] = requests.as_dict()
    assert requests.as_dict() == {"HeadObject": 4, "PutObject": 4}  # exists() + one PUT per new blob

    # Thumbnails by the S3 worker.
    before = seaweedfs.request_totals()
    shas = [f["sha256"] for f in files]
    ready = Blob.objects.filter(sha256__in=shas, thumbnail_status=Blob.Thumbnail.READY)
    wait_until(lambda: ready.count() == 4, 60, "thumbnails by the S3 worker", only_s3_worker)
    # Counted by SeaweedFS (the worker is another process), by its own request types.
    costs["thumbnails of 4 files, by the worker (server's count)"] = _server_delta(seaweedfs, before)
    assert costs["thumbnails of 4 files, by the worker (server's count)"]["PUT"] == 8  # one per rendition

    # Downloads: a redirect to the bucket (no request from the web process), then plain HTTP.
    first = files[0]
    for path, disposition, content_type, expected in (
        (f"/files/{first['id']}/download/", "attachment", "image/jpeg", photos[0][1]),
        (f"/files/{first['id']}/raw/", "inline", "image/jpeg", photos[0][1]),
        (f"/files/{first['id']}/thumb/256/", None, "image/webp", None),
    ):
        before = seaweedfs.request_totals()
        redirect = _fetch(f"{s3_live_server_url}{path}", Authorization=f"Bearer {key}")
        assert redirect.status == 302, path
        assert _server_delta(seaweedfs, before) == {}  # signing is local
        location = redirect.headers["Location"]
        assert location.startswith(seaweedfs.endpoint_url) and "X-Amz-Signature=" in location
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in location
        with urllib.request.urlopen(location, timeout=30) as fetched:  # no credentials
            data = fetched.read()
            assert fetched.headers["Content-Type"] == content_type
            if disposition:  # the safe ASCII name and the exact one (RFC 5987)
                exact = quote(first["name"], safe="")
                assert fetched.headers["Content-Disposition"] == (
                    f"{disposition}; filename=\"Ete a Paris 0.jpg\"; filename*=UTF-8''{exact}"
                )
        if expected is not None:
            assert hashlib.sha256(data).hexdigest() == hashlib.sha256(expected).hexdigest()
        else:
            assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        # Someone else's file: a 404, never a redirect.
        refused = _fetch(f"{s3_live_server_url}{path}", Authorization=f"Bearer {stranger_key}")
        assert refused.status == 404 and "Location" not in refused.headers

    # Permanent delete of every file: one DeleteObjects for 4 blobs x 3 objects.
    ids = [f["id"] for f in files]
    trash(owner.pk, ids)
    with S3RequestCounter(s3_storage) as requests:
        assert delete_permanently(owner.pk, ids).done == 4  # autocommit: the bytes go at once
    costs["permanent delete of 4 files"] = requests.as_dict()
    assert requests.as_dict() == {"DeleteObjects": 1}
    assert seaweedfs.keys() == []

    # The orphan sweep: one listing page per directory, a DeleteObjects per directory with orphans.
    for n in range(3):
        s3_storage.save(storage.blob_name(hashlib.sha256(b"stray %d" % n).hexdigest()), ContentFile(b"x"))
    with S3RequestCounter(s3_storage) as requests:
        report = orphans.sweep(now=timezone.now() + timedelta(hours=2))
    costs["orphan sweep, 3 orphans"] = requests.as_dict()
    assert report["removed"] == 3 and report["missing_count"] == 0
    assert requests.as_dict() == {"DeleteObjects": 1, "ListObjectsV2": 2}
    assert seaweedfs.keys() == []
    with capsys.disabled():
        print(f"\nS3 requests per operation: {json.dumps(costs)}")
