"""Keeping jobs moving when messages are lost: the sweep run by beat and when a worker starts.

A SIGKILLed worker's unacked Redis messages only come back after the visibility timeout (an
hour). Chunks of live jobs whose lease has expired are sent again instead; a duplicate is
harmless because the chunk row decides whether there is anything left to do.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs.models import Job, JobChunk
from jobs.services import dispatch_job, finish_if_complete, resend_chunk

logger = logging.getLogger(__name__)


def recover_stalled_chunks(limit=None):
    """Resend chunks whose dispatch or claim lease has expired; returns how many were resent."""
    now = timezone.now()
    limit = limit or settings.JOBS_SWEEP_BATCH
    stalled = (
        JobChunk.objects.filter(
            status__in=(JobChunk.Status.QUEUED, JobChunk.Status.RUNNING),
            lease_until__lt=now,
            job__dispatched__isnull=False,
        )
        .select_related("job")
        .order_by("lease_until")[:limit]
    )
    resent = 0
    for chunk in stalled:
        if chunk.job.status == Job.Status.CANCELLING:
            _cancel_stalled(chunk)
        elif chunk.job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
            resend_chunk(chunk)
            resent += 1
    if resent:
        logger.warning("jobs: resent %d stalled chunk(s)", resent)
    return resent


def _cancel_stalled(chunk):
    with transaction.atomic():
        changed = JobChunk.objects.filter(
            pk=chunk.pk, status__in=(JobChunk.Status.QUEUED, JobChunk.Status.RUNNING)
        )
        if changed.update(status=JobChunk.Status.CANCELLED, finished=timezone.now(), lease_until=None):
            Job.objects.filter(pk=chunk.job_id).update(done=F("done"))  # order with other recorders
            finish_if_complete(chunk.job_id)


def dispatch_due_jobs():
    """Send deferred jobs whose start is within one countdown; the rest keep waiting in the DB."""
    horizon = timezone.now() + timedelta(seconds=settings.JOBS_MAX_COUNTDOWN)
    due = Job.objects.filter(status=Job.Status.QUEUED, dispatched__isnull=True, run_after__lte=horizon)
    count = 0
    for job in due.order_by("run_after")[: settings.JOBS_SWEEP_BATCH]:
        with transaction.atomic():
            dispatch_job(job)
        count += 1
    return count


def sweep():
    return {"dispatched": dispatch_due_jobs(), "resent": recover_stalled_chunks()}
