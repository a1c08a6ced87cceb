"""Celery tasks of the media library: thin wrappers over plain functions."""

from celery import shared_task

from media_library.maintenance import orphans, retention


@shared_task(name="media_library.tasks.purge_expired_trash")
def purge_expired_trash(triggered_by="schedule"):
    """Start the purge job (or record that another purge is running): the result says which."""
    return retention.start_purge(triggered_by=triggered_by)


@shared_task(name="media_library.tasks.sweep_orphans")
def sweep_orphans():
    """Remove stored bytes no row references; report rows whose bytes are missing."""
    return orphans.sweep()
