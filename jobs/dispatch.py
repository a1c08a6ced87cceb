"""How a chunk becomes a Celery message: every calling option is chosen here, on purpose."""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

INTERACTIVE, BULK = "interactive", "bulk"


def choose_queue(kind, total):
    """Small jobs of an "auto" kind run on the short interactive queue; everything else on bulk."""
    if kind.queue == "auto" and total <= kind.interactive_max:
        return INTERACTIVE
    return BULK


def choose_priority(queue, total):
    """Logical priority 0..9, higher runs first: interactive work, then small bulk jobs."""
    if queue == INTERACTIVE:
        return 9
    return 6 if total <= settings.JOBS_SMALL_JOB else 3


def broker_priority(logical):
    """Redis runs 0 first (priority_steps sorted ascending); RabbitMQ runs 9 first."""
    return 9 - logical if settings.CELERY_BROKER_IS_REDIS else logical


def cap_countdown(seconds):
    """A countdown parks the message in a worker, unacked: keep it far below the visibility timeout
    (or Redis hands the same message to another worker) and below the beat hand-off threshold."""
    return max(0.0, min(float(seconds), settings.JOBS_MAX_COUNTDOWN))


def retry_backoff(retries):
    """Exponential back-off with full jitter, for transient errors (locked database, storage I/O)."""
    ceiling = min(settings.JOBS_RETRY_BACKOFF_MAX, settings.JOBS_RETRY_BACKOFF_BASE * 2**retries)
    return cap_countdown(ceiling / 2 + random.uniform(0, ceiling / 2))


def lease_deadline(countdown=0.0):
    """How long a queued message is trusted to arrive before the sweep sends another one."""
    return timezone.now() + timedelta(seconds=countdown + settings.JOBS_QUEUED_LEASE_SECONDS)


def task_id_for(job_id, index, attempt):
    """Derived, so a chunk's task is traceable (TaskResult, logs) and a resend is a new generation."""
    return f"job-{job_id}-c{index}-a{attempt}"


def send_chunk(job, chunk, *, countdown=0.0, queue=None):
    """Send one chunk's task. Call only after the rows it reads are committed (on_commit)."""
    from jobs.tasks import on_chunk_error, run_chunk

    queue = queue or job.queue
    countdown = cap_countdown(countdown)
    options = {
        # Queue and priority from the job's size and kind: interactive jobs ahead of bulk ones.
        "queue": queue,
        "priority": broker_priority(
            job.priority if queue == job.queue else choose_priority(queue, job.total)
        ),
        # One id per chunk generation: a TaskResult per chunk task, revocable on cancel.
        "task_id": task_id_for(job.pk, chunk.index, chunk.attempt),
        # A readable name in worker logs and results instead of "jobs.tasks.run_chunk".
        "shadow": f"job:{job.kind}:{job.short_id}",
        # A chunk that crashes unexpectedly marks the job failed with the reason.
        "link_error": on_chunk_error.s(),
    }
    if countdown:
        # Short waits only (retry back-off, an undo window); anything longer waits in the database.
        options["countdown"] = countdown
    if queue == INTERACTIVE:
        # Interactive work that waited too long is moved to the bulk queue (see signals.on_revoked)
        # instead of holding the short queue up behind stale clicks.
        options["expires"] = countdown + settings.JOBS_INTERACTIVE_EXPIRES
    run_chunk.apply_async(args=[str(job.pk), chunk.index, chunk.attempt], **options)
    logger.debug("sent %s to %s", options["task_id"], queue)
    return options["task_id"]


def send_trailing_publish(job_id, delay):
    """The job's card `delay` seconds from now (see progress.schedule_trailing_publish): a tiny
    task on the interactive queue, ahead of chunks, dropped if it cannot run soon (a later card
    or the snapshot on reconnect carries the same state)."""
    from jobs.tasks import publish_progress

    publish_progress.apply_async(
        args=[str(job_id)],
        queue=INTERACTIVE,
        priority=broker_priority(9),
        countdown=delay,
        expires=delay + settings.JOBS_INTERACTIVE_EXPIRES,
    )
