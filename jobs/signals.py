"""Celery signals that keep the database's view of chunk tasks consistent."""

import logging

from celery.signals import task_failure, task_prerun, task_revoked, worker_ready
from django.db import connections

logger = logging.getLogger(__name__)


@worker_ready.connect
def recover_on_worker_start(sender=None, **kwargs):
    """A worker that starts (after a crash, a deploy) first resends chunks whose lease expired."""
    from jobs.recovery import sweep

    try:
        logger.info("jobs: startup sweep %s", sweep())
    finally:
        connections.close_all()  # the main process must not share connections with pool children


RUN_CHUNK = "jobs.tasks.run_chunk"


def _chunk_of(sender, args):
    if sender is None or sender.name != RUN_CHUNK or not args or len(args) < 2:
        return None
    return args[0], args[1]


@task_prerun.connect
def note_worker(sender=None, args=None, **kwargs):
    """Which worker took the chunk (shown on the job page and in the admin)."""
    chunk = _chunk_of(sender, args)
    if chunk is None:
        return
    from jobs.models import JobChunk

    hostname = getattr(sender.request, "hostname", "") or ""
    JobChunk.objects.filter(job_id=chunk[0], index=chunk[1]).exclude(worker=hostname).update(worker=hostname)


@task_failure.connect
def chunk_task_failed(sender=None, args=None, exception=None, **kwargs):
    """Safety net behind link_error (e.g. a message sent without it): a crashed chunk never stays
    running. A no-op when the errback already recorded the chunk."""
    chunk = _chunk_of(sender, args)
    if chunk is None:
        return
    from jobs.progress import publish_job
    from jobs.runner import fail_chunk

    if fail_chunk(chunk[0], chunk[1], f"{exception.__class__.__name__}: {exception}", fail_job=True):
        publish_job(chunk[0], force=True)


@task_revoked.connect
def on_revoked(sender=None, request=None, terminated=False, expired=False, **kwargs):
    """An interactive chunk that expired in the queue is moved to the bulk queue, not lost."""
    if not expired or sender is None or sender.name != RUN_CHUNK:
        return
    from jobs.dispatch import BULK
    from jobs.models import JobChunk
    from jobs.services import resend_chunk

    job_id, index = request.args[0], request.args[1]
    chunk = JobChunk.objects.select_related("job").filter(job_id=job_id, index=index).first()
    if chunk is not None and chunk.status == JobChunk.Status.QUEUED and chunk.job.is_active:
        resend_chunk(chunk, queue=BULK)
