"""Celery tasks of the jobs engine: thin wrappers that take ids and call plain functions."""

from celery import shared_task

from jobs import lifecycle, recovery, results, runner
from jobs.conf import settings


@shared_task(name="jobs.tasks.publish_progress", ignore_result=True)
def publish_progress(job_id):
    """The trailing-edge card of a job whose update the throttle dropped (jobs.progress)."""
    lifecycle.publish_trailing(job_id)


@shared_task(
    name="jobs.tasks.run_chunk",
    # Bounded work per message, far below the broker's visibility timeout.
    soft_time_limit=settings.JOB_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.JOB_CHUNK_TIME_LIMIT,
)
def run_chunk(job_id, index, attempt):
    return runner.run_chunk(job_id, index, attempt)


@shared_task(name="jobs.tasks.sweep")
def sweep():
    """Beat, every minute: start deferred jobs that are due and resend chunks whose lease expired."""
    return recovery.sweep()


@shared_task(name="jobs.tasks.prune_task_results")
def prune_task_results():
    """Beat, hourly: delete expired django-celery-results rows in batches (the table stays bounded)."""
    return results.prune_expired_results()
