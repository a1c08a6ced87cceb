"""Celery tasks of the jobs engine: thin wrappers that take ids and call plain functions."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from jobs import runner
from jobs.progress import publish_job, send_to_user

logger = logging.getLogger(__name__)

# Worth retrying: a locked/unavailable database, storage I/O. Everything else is permanent.
TRANSIENT_ERRORS = (OperationalError, OSError)


@shared_task(name="jobs.tasks.notify_user")
def notify_user(user_id, html):
    """Send an HTML fragment to a user's pages from a worker (used by the service tests)."""
    send_to_user(user_id, html)
    return "sent"


@shared_task(name="jobs.tasks.publish_progress", ignore_result=True)
def publish_progress(job_id):
    """The trailing-edge card of a job whose update the throttle dropped (jobs.progress); a
    finished job's final card was sent when it finished."""
    from jobs.models import Job

    if Job.objects.filter(pk=job_id, finished__isnull=True).exists():
        publish_job(job_id, force=True)


@shared_task(
    name="jobs.tasks.run_chunk",
    bind=True,
    # Bounded work per message, far below the broker's visibility timeout (see settings).
    soft_time_limit=settings.JOB_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.JOB_CHUNK_TIME_LIMIT,
    max_retries=None,  # the chunk row counts retries (a resent message starts a new request)
)
def run_chunk(self, job_id, index, attempt):
    from jobs.models import JobChunk

    try:
        result = runner.run_chunk(job_id, index)
    except TRANSIENT_ERRORS as exc:
        retries = (
            JobChunk.objects.filter(job_id=job_id, index=index).values_list("retries", flat=True).first()
        )
        if retries is None or retries >= settings.JOBS_MAX_RETRIES:
            runner.fail_chunk(job_id, index, f"gave up after {retries} retries: {exc}")
            publish_job(job_id, force=True)
            return "failed"
        countdown = runner_backoff(retries)
        runner.requeue_for_retry(job_id, index, countdown)
        logger.warning("job %s chunk %s: transient %r, retry in %.1fs", job_id, index, exc, countdown)
        # Back-off by countdown (capped far below the visibility timeout), same task id.
        raise self.retry(exc=exc, countdown=countdown) from exc
    publish_job(job_id, force=result == runner.FINISHED)
    return result


def runner_backoff(retries):
    from jobs.dispatch import retry_backoff

    return retry_backoff(retries)


@shared_task(name="jobs.tasks.on_chunk_error")
def on_chunk_error(request, exc, traceback):
    """link_error of every chunk task: an unexpected exception fails the job with its reason."""
    job_id, index = request.args[0], request.args[1]
    reason = f"{exc.__class__.__name__}: {exc}"
    logger.error("job %s chunk %s crashed: %s", job_id, index, reason)
    runner.fail_chunk(job_id, index, reason, fail_job=True)
    publish_job(job_id, force=True)


@shared_task(name="jobs.tasks.sweep")
def sweep():
    """Beat, every minute: start deferred jobs that are due and resend chunks whose lease expired."""
    from jobs.recovery import sweep as run_sweep

    return run_sweep()


@shared_task(name="jobs.tasks.prune_task_results")
def prune_task_results():
    """Beat, hourly: delete expired django-celery-results rows in batches (the table stays bounded)."""
    from jobs.results import prune_expired_results

    return prune_expired_results()
