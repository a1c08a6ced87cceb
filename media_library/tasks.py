"""Celery tasks of the media library: thin wrappers over plain functions."""

from celery import shared_task
from django.db import OperationalError

from media_library.archives import assembly, expiry
from media_library.maintenance import orphans, retention


@shared_task(name="media_library.tasks.purge_expired_trash")
def purge_expired_trash(triggered_by="schedule"):
    """Start the purge job (or record that another purge is running): the result says which."""
    return retention.start_purge(triggered_by=triggered_by)


@shared_task(name="media_library.tasks.sweep_orphans")
def sweep_orphans():
    """Remove stored bytes no row references; report rows whose bytes are missing."""
    return orphans.sweep()


@shared_task(
    name=expiry.ASSEMBLE_TASK,
    # Storage I/O and a locked database are worth retrying; the claim was given back first.
    autoretry_for=(OSError, OperationalError),
    max_retries=assembly.MAX_ATTEMPTS,
    retry_backoff=2,
    retry_backoff_max=60,
    soft_time_limit=1800,  # far below the broker's visibility timeout; the lease is renewed meanwhile
    time_limit=1860,
)
def assemble_archive(archive_id):
    """An archive job has finished: assemble its ZIP (or discard a cancelled one's parts)."""
    return assembly.finish_archive(archive_id)


@shared_task(name=expiry.EXPIRE_TASK)
def expire_archives():
    """Beat: remove expired ZIPs, resend stalled assemblies, delete leftover archive files."""
    return expiry.sweep()
