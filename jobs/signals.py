"""Celery signals that keep the database's view of chunk tasks consistent."""

import logging

from celery.signals import task_revoked, worker_ready
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


@task_revoked.connect
def on_revoked(sender=None, request=None, terminated=False, expired=False, **kwargs):
    """An interactive chunk that expired in the queue is moved to the bulk queue, not lost."""
    if not expired or sender is None or sender.name != "jobs.tasks.run_chunk":
        return
    from jobs.dispatch import BULK
    from jobs.models import JobChunk
    from jobs.services import resend_chunk

    job_id, index = request.args[0], request.args[1]
    chunk = JobChunk.objects.select_related("job").filter(job_id=job_id, index=index).first()
    if chunk is not None and chunk.status == JobChunk.Status.QUEUED and chunk.job.is_active:
        resend_chunk(chunk, queue=BULK)
