"""Signal handlers: Celery's (keep the database's view of chunk tasks right) and Django's logout."""

import logging

from celery.signals import task_failure, task_prerun, task_revoked, worker_init, worker_ready, worker_shutdown
from django.contrib.auth.signals import user_logged_out
from django.db import connections
from django.dispatch import receiver

from jobs import heartbeat, lifecycle, progress, recovery
from jobs.conf import settings
from jobs.dispatch import BULK, RUN_CHUNK
from jobs.models import JobChunk

logger = logging.getLogger(__name__)
_periodic_sweep = {}


@worker_init.connect
def mark_worker_process(sender=None, **kwargs):
    """In a worker (and the pool processes it forks), a heartbeat that lost its claim may stop
    the process running the chunk."""
    heartbeat.IN_WORKER["value"] = True


@worker_ready.connect
def recover_on_worker_start(sender=None, **kwargs):
    """A worker that starts (after a crash, a deploy) first resends chunks whose lease expired,
    then sweeps every JOBS_SWEEP_SECONDS: a dead worker's chunk does not wait for beat's minute."""
    try:
        logger.info("jobs: startup sweep %s", recovery.sweep())
    finally:
        connections.close_all()  # the main process must not share connections with pool children
    if float(settings.JOBS_SWEEP_SECONDS) > 0:
        _periodic_sweep["sweep"] = recovery.PeriodicSweep(settings.JOBS_SWEEP_SECONDS).start()


@worker_shutdown.connect
def stop_sweeping(sender=None, **kwargs):
    periodic = _periodic_sweep.pop("sweep", None)
    if periodic is not None:
        periodic.stop()


def _chunk_of(sender, args):
    if sender is None or sender.name != RUN_CHUNK or not args or len(args) < 3:
        return None
    return args[0], args[1], args[2]


@task_prerun.connect
def note_worker(sender=None, args=None, **kwargs):
    """Which worker took the chunk (shown on the job page and in the admin)."""
    chunk = _chunk_of(sender, args)
    if chunk is None:
        return
    hostname = getattr(sender.request, "hostname", "") or ""
    JobChunk.objects.filter(job_id=chunk[0], index=chunk[1]).exclude(worker=hostname).update(worker=hostname)


@task_failure.connect
def chunk_task_failed(sender=None, args=None, exception=None, **kwargs):
    """A chunk task that failed without recording it (a hard time limit kills the pool process;
    the worker's main process reports it here) never stays running. A no-op when the runner
    already recorded the failure."""
    chunk = _chunk_of(sender, args)
    if chunk is None:
        return
    job_id, index, _attempt = chunk  # the timed-out task still held its claim (lease > time limit)
    try:
        reason = f"{exception.__class__.__name__}: {exception}"
        lifecycle.fail_chunk(job_id, index, reason, fail_job=True)
    finally:
        connections.close_all()  # may run in the main process, which forks new pool children


@task_revoked.connect
def on_revoked(sender=None, request=None, terminated=False, expired=False, **kwargs):
    """An interactive chunk that expired in the queue is moved to the bulk queue, not lost."""
    if not expired or sender is None or sender.name != RUN_CHUNK or len(request.args) < 3:
        return
    job_id, index, attempt = request.args[:3]
    lifecycle.resend_expired(job_id, index, attempt, queue=BULK)


@receiver(user_logged_out)
def close_sockets_of_session(sender, request=None, **kwargs):
    """The session that logs out stops receiving job events on the pages it still has open."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        progress.end_session(session.session_key)
