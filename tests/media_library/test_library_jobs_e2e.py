"""The jobs engine's headline flows with the media library's real job kinds, on real services.

A 2,000-file trash job streamed over the real websocket, and a copy job whose worker is
SIGKILLed mid-job: a new worker finishes it with every file copied exactly once.
"""

import os
import signal

import pytest
from django.db.models import Count

from devtools.job_cards import follow_job
from devtools.processes import start_celery_worker, stop_process, wait_until
from devtools.websocket import open_socket
from jobs.models import Job, JobChunk
from jobs.services import submit
from media_library.models import Blob, MediaFile
from tests.support.chunks import SHORT_LEASES, leases_expired

pytestmark = pytest.mark.django_db(transaction=True)


def make_files(owner, count, prefix="f"):
    blob = Blob.objects.create(sha256=f"{owner.pk:064x}", size=10, format="JPEG", width=1, height=1)
    MediaFile.objects.bulk_create(
        [MediaFile(owner=owner, name=f"{prefix}{n:05}.jpg", blob=blob, size=10) for n in range(count)],
        batch_size=1000,
    )
    return list(MediaFile.objects.filter(owner=owner).order_by("id").values_list("id", flat=True))


def test_trash_2000_files_streams_progress_and_ends_succeeded(
    celery_worker, live_server_url, make_user, session_cookie
):
    alice, bob = make_user(), make_user()
    ids = make_files(alice, 2000)
    make_files(bob, 5)
    with (
        open_socket(live_server_url, session_cookie(alice)) as alice_ws,
        open_socket(live_server_url, session_cookie(bob)) as bob_ws,
    ):
        # Small chunks make the job last long enough (~seconds) for several throttled fragments.
        job = submit("trash", alice, ids, params={"chunk_size": 20})
        states = follow_job(alice_ws, job.pk, timeout=90)
        bob_saw = []
        try:
            while True:
                bob_saw.append(bob_ws.recv(timeout=0.5))
        except TimeoutError:
            pass
    dones = [s["done"] for s in states]
    assert len(states) >= 3, dones  # several progress fragments, not just the end
    assert dones == sorted(dones)  # data-done never decreases
    assert states[-1] == {**states[-1], "status": "succeeded", "done": 2000, "total": 2000, "failed": 0}
    assert not any(str(job.pk) in message for message in bob_saw)  # B sees nothing of A's job
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("succeeded", 2000, 0)
    assert MediaFile.objects.filter(owner=alice, trashed_at__isnull=False).count() == 2000
    assert MediaFile.objects.filter(owner=bob, trashed_at__isnull=True).count() == 5


def test_copy_job_survives_sigkilled_worker_and_copies_each_file_once(
    bulk_to_ourselves, make_user, test_database_url, service_logs, settings
):
    from media_library.folders import create_folder

    settings.JOBS_QUEUED_LEASE_SECONDS = 1.5
    owner = make_user()
    ids = make_files(owner, 3000)
    target = create_folder(owner.pk, None, "copies")
    doomed = start_celery_worker(
        test_database_url, service_logs / "copy-doomed.log", queues="bulk", env=SHORT_LEASES
    )
    survivor = None
    try:
        # Big enough for the bulk queue; small chunks so the kill lands between chunks' commits.
        job = submit("copy", owner, ids, params={"target_folder_id": target.pk, "chunk_size": 50})
        assert job.queue == "bulk"

        def some_done():
            return JobChunk.objects.filter(job=job, status="done").count() >= 3

        wait_until(some_done, 60, "copy chunks done on the doomed worker", doomed)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        job.refresh_from_db()
        assert job.finished is None and job.done < 3000

        wait_until(lambda: leases_expired(job), 10, "leases of the dead worker to expire")
        survivor = start_celery_worker(
            test_database_url, service_logs / "copy-survivor.log", queues="bulk", env=SHORT_LEASES
        )
        wait_until(
            lambda: Job.objects.get(pk=job.pk).finished is not None, 120, "copy job to finish", survivor
        )
    finally:
        stop_process(doomed)
        if survivor is not None:
            stop_process(survivor)

    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("succeeded", 3000, 0)
    copies = MediaFile.objects.filter(owner=owner, folder=target)
    assert copies.count() == 3000  # none left out
    per_source = copies.values("copied_from").annotate(n=Count("id")).filter(n__gt=1)
    assert not per_source.exists()  # none twice
    assert set(copies.values_list("copied_from", flat=True)) == set(ids)
