"""A worker killed with SIGKILL in the middle of a job: a new worker finishes it, exactly once."""

import os
import signal

import pytest

from devtools.processes import start_celery_worker, stop_process, wait_until
from jobs.models import JobChunk
from jobs.services import submit
from tests.support.chunks import SHORT_LEASES, leases_expired

pytestmark = pytest.mark.django_db(transaction=True)


def test_sigkilled_worker_mid_job_new_worker_finishes_exactly_once(
    bulk_to_ourselves, test_kinds, make_user, test_database_url, service_logs, settings
):
    settings.JOBS_QUEUED_LEASE_SECONDS = 1.5  # leases of the chunks this process sends
    doomed = start_celery_worker(
        test_database_url, service_logs / "crash-doomed.log", queues="bulk", env=SHORT_LEASES
    )
    survivor = None
    try:
        job = submit("test.record", make_user(), range(1, 121), params={"chunk_size": 10, "sleep": 0.4})

        def some_done_and_some_running():
            statuses = list(JobChunk.objects.filter(job=job).values_list("status", flat=True))
            return statuses.count("done") >= 2 and "running" in statuses

        wait_until(some_done_and_some_running, 30, "chunks running on the doomed worker", doomed)
        os.killpg(doomed.pid, signal.SIGKILL)  # main process and pool children, mid-transaction
        doomed.wait(10)
        job.refresh_from_db()
        assert job.finished is None and job.done < 120

        wait_until(lambda: leases_expired(job), 10, "leases of the dead worker to expire")
        survivor = start_celery_worker(
            test_database_url, service_logs / "crash-survivor.log", queues="bulk", env=SHORT_LEASES
        )

        def job_finished():
            job.refresh_from_db()
            return job.finished is not None

        wait_until(job_finished, 60, "job to finish on the new worker", survivor)
        assert (job.status, job.done, job.failed) == ("succeeded", 120, 0)
        assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 121)}  # none twice, none left out
        # The chunks that were in flight were sent again (a new generation of task id).
        assert JobChunk.objects.filter(job=job, attempt__gte=2).exists()
    finally:
        stop_process(doomed)
        if survivor is not None:
            stop_process(survivor)
