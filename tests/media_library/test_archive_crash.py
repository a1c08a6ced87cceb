"""A worker SIGKILLed while it writes an archive's parts: a new worker finishes the job and the ZIP
is whole and exact; what the dead worker half wrote is never part of it and is deleted."""

import os
import signal

import pytest
from django.core.files.storage import default_storage

from devtools.processes import start_celery_worker, stop_process, wait_until
from jobs.models import Job, JobChunk
from media_library import storage
from media_library.actions import submit_action
from media_library.folders import create_folder
from media_library.models import MediaFile
from tests.support import images
from tests.support.archives import (
    archive_object_files,
    stored_archive_bytes,
    stored_blob,
    wait_for_archive,
    zip_digests,
)
from tests.support.chunks import SHORT_LEASES, leases_expired

pytestmark = pytest.mark.django_db(transaction=True)


def leftover(job):
    return sorted(default_storage.listdir(storage.archive_directory(job.pk))[1])


def test_archive_job_survives_a_sigkilled_worker(
    bulk_to_ourselves, make_user, test_database_url, service_logs, settings, tmp_path
):
    settings.JOBS_QUEUED_LEASE_SECONDS = 1.5
    settings.ARCHIVE_CHUNK_FILES = 4  # 4 files of ~3 MB a chunk: a kill lands while parts are written
    owner = make_user()
    folder = create_folder(owner.pk, None, "Big")
    blobs = [stored_blob(images.large_png_bytes(3 * 1024 * 1024, seed=n), fmt="PNG") for n in range(6)]
    files = MediaFile.objects.bulk_create(
        MediaFile(
            owner=owner, folder=folder, name=f"big-{n:02d}.png", blob=blobs[n % 6], size=blobs[n % 6].size
        )
        for n in range(60)
    )
    doomed = start_celery_worker(
        test_database_url, service_logs / "archive-doomed.log", queues="bulk", env=SHORT_LEASES
    )
    survivor = None
    try:
        job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
        assert job.chunk_count == 15

        def some_done_and_some_running():
            statuses = list(JobChunk.objects.filter(job=job).values_list("status", flat=True))
            return statuses.count("done") >= 2 and "running" in statuses

        wait_until(some_done_and_some_running, 60, "archive chunks on the doomed worker", doomed)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        job.refresh_from_db()
        assert job.finished is None
        wait_until(lambda: leases_expired(job), 10, "leases of the dead worker to expire")
        survivor = start_celery_worker(
            test_database_url, service_logs / "archive-survivor.log", queues="bulk", env=SHORT_LEASES
        )
        archive = wait_for_archive(job, timeout=120)
        # The dead worker's parts go right after the commit that made the ZIP ready (and the job
        # succeeded with it): give the survivor that moment before it is stopped.
        wait_until(lambda: leftover(job) == archive_object_files(archive), 30, "dead parts to go")
    finally:
        stop_process(doomed)
        if survivor is not None:
            stop_process(survivor)

    job = Job.objects.get(pk=job.pk)
    assert (job.status, job.done, job.failed) == ("succeeded", 60, 0)
    assert JobChunk.objects.filter(job=job, attempt__gte=2).exists()  # in-flight chunks were sent again
    path = tmp_path / "after-crash.zip"
    path.write_bytes(stored_archive_bytes(archive))
    assert zip_digests(path) == {f.name: f.blob.sha256 for f in files}
    assert leftover(job) == archive_object_files(archive)  # the dead worker's parts are gone
