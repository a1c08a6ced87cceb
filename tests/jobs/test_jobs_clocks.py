"""Hosts whose clocks disagree: leases are written and compared on the database's clock, so a worker
whose clock runs behind never looks dead to a sweeper whose clock is right."""

import glob

import pytest

from devtools.processes import start_celery_worker, stop_process, wait_until
from jobs.models import JobChunk
from jobs.recovery import sweep
from jobs.services import submit
from tests.support.interleave import ON_POSTGRESQL

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not ON_POSTGRESQL,
        reason="SQLite runs inside each process: its now() is that host's clock, and it serves one host",
    ),
]

FAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


@pytest.mark.skipif(not FAKETIME, reason="libfaketime is not installed (make test installs it)")
def test_a_worker_whose_clock_is_behind_keeps_its_chunk(
    bulk_to_ourselves, test_kinds, make_user, test_database_url, service_logs
):
    # Five minutes behind, with claims trusted for one minute: a lease written on this worker's
    # clock would be over before it was written, as far as the sweeper's clock goes.
    # Its heartbeat renews the claim every second, also on the database's clock.
    late = {
        "LD_PRELOAD": FAKETIME[0], "FAKETIME": "-5m",
        "JOBS_CLAIM_LEASE_SECONDS": "60", "JOBS_HEARTBEAT_SECONDS": "1",
    }  # fmt: skip
    worker = start_celery_worker(test_database_url, service_logs / "late-clock.log", queues="bulk", env=late)
    try:
        job = submit("test.non_atomic", make_user(), range(1, 11), params={"sleep": 4})
        chunk = JobChunk.objects.filter(job=job, index=0)
        wait_until(lambda: chunk.filter(status="running").exists(), 30, "the late worker's claim", worker)
        assert sweep()["resent"] == 0  # the sweeper's clock is right, and the claim is alive
        assert chunk.get().attempt == 1

        def finished():
            job.refresh_from_db()
            return job.finished is not None

        wait_until(finished, 30, "the job to finish on the late worker", worker)
        assert (job.status, job.done) == ("succeeded", 10)
        assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 11)}
        assert chunk.get().attempt == 1  # never sent twice
    finally:
        stop_process(worker)
