"""A chunk that kills the worker running it (out of memory, a crash in native code) is not
delivered forever: after JOBS_MAX_DELIVERIES deaths its items fail and the job goes on."""

import pytest
import redis
from django.conf import settings as django_settings

from devtools.processes import start_celery_worker, stop_process, wait_until
from jobs.lifecycle import WORKER_DIED
from jobs.models import JobChunk, JobFailure
from jobs.recovery import sweep
from jobs.services import submit
from tests.support.chunks import SHORT_LEASES

pytestmark = pytest.mark.django_db(transaction=True)


def finished_with_sweeps(job):
    """Beat's part: sweep (now and then) until the job is final."""
    polls = {"n": 0}

    def finished():
        polls["n"] += 1
        if polls["n"] % 10 == 0:
            sweep()
        job.refresh_from_db()
        return job.finished is not None

    return finished


def test_a_chunk_that_kills_its_worker_fails_its_items_and_the_job_finishes_partial(
    bulk_to_ourselves, test_kinds, make_user, test_database_url, service_logs, settings
):
    settings.JOBS_QUEUED_LEASE_SECONDS = 1.5  # leases of the chunks this process sends
    worker = start_celery_worker(
        test_database_url, service_logs / "poison.log", queues="bulk", concurrency=1, env=SHORT_LEASES
    )
    try:
        user = make_user()
        job = submit("test.poison", user, range(1, 41), params={"chunk_size": 10, "poison_chunk": 1})
        wait_until(finished_with_sweeps(job), 120, "the job to finish despite its poison chunk", worker)
        assert (job.status, job.done, job.failed) == ("partial", 30, 10)
        poisoned = JobChunk.objects.get(job=job, index=1)
        assert (poisoned.status, poisoned.deliveries, poisoned.error) == ("failed", 3, WORKER_DIED)
        failures = JobFailure.objects.filter(job=job)
        assert sorted(failures.values_list("item_id", flat=True)) == list(range(11, 21))
        assert set(failures.values_list("reason", flat=True)) == {WORKER_DIED}
        assert test_kinds.effects(job.pk) == {i: 1 for i in [*range(1, 11), *range(21, 41)]}
        deaths = int(redis.Redis.from_url(django_settings.REDIS_URL).get(f"test-poison-deaths:{job.pk}"))
        assert deaths == 3  # killed its worker three times, then never ran again
        # The bulk queue is not stuck behind it: the same worker runs the next job.
        after = submit("test.record", user, range(1, 21), params={"chunk_size": 10})
        wait_until(finished_with_sweeps(after), 60, "the next job", worker)
        assert after.status == "succeeded"
    finally:
        stop_process(worker)
