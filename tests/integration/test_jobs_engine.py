"""The jobs engine on real services: a Celery worker process, Redis, the database."""

import time

import pytest

from jobs.models import Job, JobChunk, JobFailure
from jobs.services import cancel_job, retry_failed, submit
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def finished(job, timeout=30):
    def done():
        job.refresh_from_db()
        return job.finished is not None

    wait_until(done, timeout, f"job {job.pk} to finish")
    return job


def test_job_runs_every_id_exactly_once_and_succeeds(celery_worker, test_kinds, make_user):
    user = make_user()
    job = submit("test.record", user, range(1, 96), params={"chunk_size": 10})
    assert job.chunk_count == 10 and job.total == 95
    finished(job)
    assert job.status == "succeeded"
    assert (job.done, job.failed) == (95, 0)
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 96)}
    assert set(JobChunk.objects.filter(job=job).values_list("status", flat=True)) == {"done"}
    assert job.started <= job.finished
