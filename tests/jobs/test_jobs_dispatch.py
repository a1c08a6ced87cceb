"""Calling options chosen from the job's shape and the broker's semantics."""

import pytest

from jobs import dispatch
from jobs.checks import timings_fit_the_visibility_timeout
from jobs.conf import settings as jobs_settings
from jobs.models import task_id_for
from jobs.registry import ChunkOutcome, JobKind


def kind(**extra):
    return JobKind(name="k", label="K", handler=lambda ctx: ChunkOutcome(), **extra)


def test_queue_from_kind_and_size():
    assert dispatch.choose_queue(kind(queue="bulk"), 3) == "bulk"
    assert dispatch.choose_queue(kind(queue="auto", interactive_max=50), 50) == "interactive"
    assert dispatch.choose_queue(kind(queue="auto", interactive_max=50), 51) == "bulk"


def test_interactive_first_on_both_brokers(settings):
    interactive = dispatch.choose_priority("interactive", 10)
    small_bulk = dispatch.choose_priority("bulk", 100)
    big_bulk = dispatch.choose_priority("bulk", 100_000)
    assert interactive > small_bulk > big_bulk
    settings.CELERY_BROKER_IS_REDIS = True  # Redis: 0 is served first
    assert dispatch.broker_priority(interactive) < dispatch.broker_priority(big_bulk)
    assert dispatch.broker_priority(interactive) == 0
    settings.CELERY_BROKER_IS_REDIS = False  # RabbitMQ: 9 is served first
    assert dispatch.broker_priority(interactive) == 9 > dispatch.broker_priority(big_bulk)


def test_countdowns_stay_far_below_the_visibility_timeout(settings):
    assert dispatch.cap_countdown(10_000) == jobs_settings.JOBS_MAX_COUNTDOWN
    assert jobs_settings.JOBS_MAX_COUNTDOWN * 10 < settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    assert (
        jobs_settings.JOB_CHUNK_SOFT_TIME_LIMIT
        < jobs_settings.JOB_CHUNK_TIME_LIMIT
        < settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    )


def test_a_chunk_time_limit_near_the_visibility_timeout_fails_the_checks(settings):
    assert timings_fit_the_visibility_timeout(None) == []
    settings.JOB_CHUNK_SOFT_TIME_LIMIT = settings.CELERY_BROKER_VISIBILITY_TIMEOUT // 4
    settings.JOBS_MAX_COUNTDOWN = settings.CELERY_BROKER_VISIBILITY_TIMEOUT // 10
    assert [error.id for error in timings_fit_the_visibility_timeout(None)] == ["jobs.E001", "jobs.E002"]


@pytest.mark.parametrize("retries", range(8))
def test_backoff_is_exponential_with_jitter_and_capped(settings, retries):
    settings.JOBS_RETRY_BACKOFF_BASE, settings.JOBS_RETRY_BACKOFF_MAX = 2, 60
    ceiling = min(60, 2 * 2**retries)
    waits = {dispatch.retry_backoff(retries) for _ in range(50)}
    assert all(ceiling / 2 <= w <= ceiling for w in waits)
    assert len(waits) > 1  # jittered


def test_task_id_names_job_chunk_and_attempt():
    assert task_id_for("abc", 3, 2) == "job-abc-c3-a2"


def test_beat_runs_the_sweep_every_minute_and_the_batched_prune_instead_of_celerys(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["jobs-sweep"]["task"] == "jobs.tasks.sweep" and schedule["jobs-sweep"]["schedule"] == 60
    assert schedule["celery.backend_cleanup"]["task"] == "jobs.tasks.prune_task_results"
