"""How a chunk becomes a broker message: every calling option is chosen here, on purpose.

Tasks are sent by name through the current Celery app, so this module needs neither the task
functions nor the project that configures Celery. Nothing here writes to the database: the caller
(jobs.lifecycle) records what was sent, and what to do when a send fails.
"""

import logging
import random

from celery import current_app

from jobs.conf import settings
from jobs.models import task_id_for

logger = logging.getLogger(__name__)

INTERACTIVE, BULK = "interactive", "bulk"
RUN_CHUNK = "jobs.tasks.run_chunk"
PUBLISH_PROGRESS = "jobs.tasks.publish_progress"
REVOKE_BATCH = 500


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


def send_chunk(job, index, attempt, *, countdown=0.0, queue=None, urgent=False):
    """Send one chunk's task (generation `attempt`). Only after the rows it reads are committed.

    `urgent` (a chunk whose worker died) runs one priority level above its job's other chunks, so
    it does not wait behind their backlog (bulk stays below interactive: they are other queues).
    Raises when the broker cannot be reached; the caller keeps the chunk for the sweep then.
    """
    queue = queue or job.queue
    countdown = cap_countdown(countdown)
    priority = job.priority if queue == job.queue else choose_priority(queue, job.total)
    if urgent:
        priority = min(priority + 1, 9)
    options = {
        # Queue and priority from the job's size and kind: interactive jobs ahead of bulk ones.
        "queue": queue,
        "priority": broker_priority(priority),
        # One id per chunk generation: a TaskResult per chunk task, revocable on cancel.
        "task_id": task_id_for(job.pk, index, attempt),
        # A readable name in worker logs and results instead of "jobs.tasks.run_chunk".
        "shadow": f"job:{job.kind}:{job.short_id}",
    }
    if countdown:
        # Short waits only (retry back-off, an undo window); anything longer waits in the database.
        options["countdown"] = countdown
    if queue == INTERACTIVE:
        # Interactive work that waited too long is moved to the bulk queue (see signals.on_revoked)
        # instead of holding the short queue up behind stale clicks.
        options["expires"] = countdown + settings.JOBS_INTERACTIVE_EXPIRES
    current_app.send_task(RUN_CHUNK, args=[str(job.pk), index, attempt], **options)
    logger.debug("sent %s to %s", options["task_id"], queue)
    return options["task_id"]


def send_trailing_publish(job_id, delay):
    """The job's card `delay` seconds from now (see progress.schedule_trailing_publish): a tiny
    task on the interactive queue, ahead of chunks, dropped if it cannot run soon (a later card
    or the snapshot on reconnect carries the same state)."""
    current_app.send_task(
        PUBLISH_PROGRESS,
        args=[str(job_id)],
        queue=INTERACTIVE,
        priority=broker_priority(9),
        countdown=delay,
        expires=delay + settings.JOBS_INTERACTIVE_EXPIRES,
    )


def revoke(task_ids):
    """Tell workers to drop these queued tasks: only saves them effort (the database already says
    the chunks are cancelled), so a broker that cannot be reached is logged, not raised."""
    task_ids = list(task_ids)
    if not task_ids:
        return
    try:
        # A broadcast retries forever on a dead connection: check the broker answers first.
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
            for start in range(0, len(task_ids), REVOKE_BATCH):
                current_app.control.revoke(task_ids[start : start + REVOKE_BATCH], connection=connection)
    except Exception:
        logger.warning("jobs: could not revoke %d task(s); the chunks stay cancelled", len(task_ids))
