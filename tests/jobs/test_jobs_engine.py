"""The jobs engine on real services: a Celery worker process, Redis, the database."""

import uuid

import pytest
from django_celery_results.models import TaskResult

from devtools.processes import wait_until
from jobs.conf import settings as jobs_settings
from jobs.models import JobChunk, JobFailure
from jobs.services import cancel_job, retry_failed, submit

pytestmark = pytest.mark.django_db(transaction=True)


def finished(job, timeout=30):
    def done():
        job.refresh_from_db()
        return job.finished is not None

    wait_until(done, timeout, f"job {job.pk} to finish")
    return job


def chunk_statuses(job):
    return set(JobChunk.objects.filter(job=job).values_list("status", flat=True))


def test_job_runs_every_id_exactly_once_and_succeeds(celery_worker, test_kinds, make_user):
    job = submit("test.record", make_user(), range(1, 96), params={"chunk_size": 10})
    assert job.chunk_count == 10 and job.total == 95 and job.queue == "bulk"
    finished(job)
    assert job.status == "succeeded"
    assert (job.done, job.failed) == (95, 0)
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 96)}
    assert chunk_statuses(job) == {"done"}
    assert set(JobChunk.objects.filter(job=job).values_list("worker", flat=True)) == {
        celery_worker.worker_name
    }
    assert job.started <= job.finished
    # One TaskResult per chunk task (not per id, not per progress event), under the derived id.
    results = TaskResult.objects.filter(task_id__startswith=f"job-{job.pk}-")
    assert sorted(results.values_list("task_id", flat=True)) == sorted(
        f"job-{job.pk}-c{n}-a1" for n in range(10)
    )
    # The result row is written just after the task returns, so the job may finish a little earlier.
    wait_until(lambda: set(results.values_list("status", flat=True)) == {"SUCCESS"}, 10, "task results")


def test_small_auto_job_runs_on_interactive_queue(celery_worker, test_kinds, make_user, service_logs):
    job = submit("test.record_auto", make_user(), [5, 6, 7])
    assert (job.queue, job.priority) == ("interactive", 9)
    finished(job)
    assert job.status == "succeeded"
    # Worker logs name the task by its shadow, not "jobs.tasks.run_chunk".
    shadow = f"job:test.record_auto:{job.short_id}[job-{job.pk}-c0-a1]"
    wait_until(lambda: shadow in (service_logs / "worker.log").read_text(), 10, "shadow name in worker log")
    big = submit("test.record_auto", make_user(), range(60), params={"sleep": 0})
    assert big.queue == "bulk"
    finished(big)


def test_interactive_chunk_that_expired_in_the_queue_moves_to_bulk(
    celery_worker, test_kinds, make_user, settings
):
    settings.JOBS_INTERACTIVE_EXPIRES = -5  # already stale when the worker receives it
    job = finished(submit("test.record_auto", make_user(), [1, 2, 3]))
    assert job.queue == "interactive" and job.status == "succeeded"
    chunk = JobChunk.objects.get(job=job)
    assert chunk.attempt == 2  # the expired message was revoked and the chunk sent again to bulk
    assert test_kinds.effects(job.pk) == {1: 1, 2: 1, 3: 1}


def test_permanent_error_lands_in_failures_and_job_is_partial(celery_worker, test_kinds, make_user):
    job = submit(
        "test.record",
        make_user(),
        range(1, 31),
        params={"chunk_size": 10, "fail_ids": [3, 4], "permanent_chunks": [2]},
    )
    finished(job)
    assert job.status == "partial"
    assert (job.done, job.failed) == (18, 12)
    reasons = dict(JobFailure.objects.filter(job=job).values_list("item_id", "reason"))
    assert reasons[3] == "item 3 is broken"
    assert reasons[25] == "chunk 2 refused: <b>bad target</b>"
    assert sorted(reasons) == [3, 4, *range(21, 31)]
    assert test_kinds.effects(job.pk) == {i: 1 for i in [1, 2, *range(5, 21)]}
    chunk2 = JobChunk.objects.get(job=job, index=2)
    assert chunk2.status == "failed" and chunk2.retries == 0  # permanent: never retried


def test_retry_reruns_only_failed_items(celery_worker, test_kinds, make_user):
    tag = uuid.uuid4().hex
    params = {"chunk_size": 10, "fail_once_tag": tag, "fail_once_ids": [7, 18, 19]}
    job = finished(submit("test.record", make_user(), range(1, 26), params=params))
    assert (job.status, job.done, job.failed) == ("partial", 22, 3)
    again = finished(retry_failed(job, job.owner))
    assert again.retry_of_id == job.pk
    assert (again.status, again.total, again.done, again.failed) == ("succeeded", 3, 3, 0)
    assert test_kinds.effects(again.pk) == {7: 1, 18: 1, 19: 1}
    assert set(test_kinds.effects(job.pk)) == set(range(1, 26)) - {7, 18, 19}


def test_transient_error_is_retried_with_backoff_and_succeeds(celery_worker, test_kinds, make_user):
    import redis
    from django.conf import settings

    job = finished(
        submit("test.flaky", make_user(), range(1, 21), params={"chunk_size": 10, "fail_times": 2})
    )
    assert job.status == "succeeded" and job.done == 20
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 21)}
    client = redis.Redis.from_url(settings.REDIS_URL)
    for chunk in JobChunk.objects.filter(job=job):
        assert chunk.retries == 2
        times = [float(t) for t in client.lrange(f"test-flaky-times:{job.pk}:{chunk.index}", 0, -1)]
        assert len(times) == 3
        # The worker runs with base 0.4 s: waits are jittered in [base*2^n/2, base*2^n].
        assert times[1] - times[0] >= 0.19 and times[2] - times[1] >= 0.39
        result = TaskResult.objects.filter(task_id=chunk.task_id, status="SUCCESS")
        wait_until(result.exists, 10, "chunk task result")


def test_a_handlers_transient_error_is_retried_like_a_database_one(celery_worker, test_kinds, make_user):
    job = finished(submit("test.hiccup", make_user(), range(1, 21), params={"fail_times": 2}))
    assert (job.status, job.done, job.failed) == ("succeeded", 20, 0)
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 21)}
    assert list(JobChunk.objects.filter(job=job).values_list("retries", flat=True)) == [2, 2]


def test_transient_error_that_never_clears_fails_the_chunk_after_max_retries(
    celery_worker, test_kinds, make_user, settings
):
    user = make_user()
    job = finished(submit("test.flaky", user, range(1, 11), params={"fail_times": 99}), timeout=40)
    chunk = JobChunk.objects.get(job=job)
    assert (job.status, job.failed, chunk.status, chunk.retries) == (
        "failed",
        10,
        "failed",
        jobs_settings.JOBS_MAX_RETRIES,
    )
    assert "database is locked (simulated)" in JobFailure.objects.filter(job=job).first().reason


def test_unexpected_handler_exception_fails_the_job_with_reason(celery_worker, test_kinds, make_user):
    job = finished(submit("test.crash", make_user(), range(1, 11), params={"crash_chunk": 0}))
    assert job.status == "failed"
    assert "RuntimeError: handler bug <script>" in job.error
    assert test_kinds.effects(job.pk) == {}
    assert JobFailure.objects.filter(job=job).count() == 10
    failure = TaskResult.objects.filter(task_id=f"job-{job.pk}-c0-a1", status="FAILURE")
    wait_until(failure.exists, 10, "failed task result")


def test_cancel_mid_job_leaves_consistent_state(celery_worker, test_kinds, make_user):
    # A non-atomic kind: its slow work holds no write lock, so (on SQLite) cancelling never waits
    # behind the workers' transactions.
    job = submit("test.non_atomic", make_user(), range(1, 201), params={"chunk_size": 10, "sleep": 0.15})

    def some_done():
        return JobChunk.objects.filter(job=job, status="done").count() >= 2

    wait_until(some_done, 30, "first chunks")
    assert cancel_job(job, job.owner)
    finished(job)
    assert job.status == "cancelled"
    done_chunks = JobChunk.objects.filter(job=job, status="done")
    assert chunk_statuses(job) == {"done", "cancelled"}
    processed = {i for ids in done_chunks.values_list("ids", flat=True) for i in ids}
    assert 0 < len(processed) < 200
    # Every id either fully processed (once) or untouched, and the counters agree.
    assert test_kinds.effects(job.pk) == dict.fromkeys(processed, 1)
    assert job.done == len(processed) and job.failed == 0


def test_undo_window_cancels_a_deferred_job_before_it_touches_anything(celery_worker, test_kinds, make_user):
    user = make_user()
    undone = submit("test.deferred", user, range(1, 11))
    kept = submit("test.deferred", user, range(11, 21))
    assert undone.undoable and undone.run_after is not None
    assert cancel_job(undone, user)
    finished(kept)
    finished(undone)
    assert undone.status == "cancelled" and test_kinds.effects(undone.pk) == {}
    assert kept.status == "succeeded" and (kept.started - kept.created).total_seconds() >= 2.9
