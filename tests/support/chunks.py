"""Waiting on a job's chunks in crash tests."""

from django.utils import timezone

from jobs.models import JobChunk

# Short leases so a dead worker's chunks are re-sent within seconds (set on dedicated workers only).
SHORT_LEASES = {"JOBS_LEASE_SECONDS": "1.5", "JOBS_QUEUED_LEASE_SECONDS": "1.5"}


def leases_expired(job):
    """True once no queued/running chunk of the job holds a lease into the future."""
    live = JobChunk.objects.filter(job=job, status__in=("queued", "running"))
    return not live.filter(lease_until__gte=timezone.now()).exists()
