"""Chunks in the states a crash or a race leaves them in, and waiting on them."""

from datetime import timedelta

from django.utils import timezone

from jobs.models import Job, JobChunk
from jobs.services import submit
from jobs.tasks import run_chunk

# Short leases so a dead worker's chunks are re-sent within seconds (set on dedicated workers only).
SHORT_LEASES = {
    "JOBS_CLAIM_LEASE_SECONDS": "1.5",
    "JOBS_HEARTBEAT_SECONDS": "0.5",
    "JOBS_QUEUED_LEASE_SECONDS": "1.5",
}


def leases_expired(job):
    """True once no queued/running chunk of the job holds a lease into the future."""
    live = JobChunk.objects.filter(job=job, status__in=("queued", "running"))
    return not live.filter(lease_until__gte=timezone.now()).exists()


def handed_out(owner, ids, *, kind="test.parked", params=None, chunk_size=10, **chunk_state):
    """A job whose chunks were sent to the broker (as far as the database knows) but with no message
    really sent, so a test delivers them itself; `chunk_state` sets e.g. status, attempt, lease.
    `kind` is one that waits in the database (a long undo window), e.g. test.parked_copy."""
    job = submit(kind, owner, ids, params={**(params or {}), "chunk_size": chunk_size})
    Job.objects.filter(pk=job.pk).update(run_after=None, dispatched=timezone.now())
    state = {"attempt": 1, "lease_until": timezone.now() + timedelta(minutes=10), **chunk_state}
    JobChunk.objects.filter(job=job).update(**state)
    job.refresh_from_db()
    return job


def deliver(job, index, attempt):
    """Run a chunk's task in this process, as a worker would on receiving its message."""
    return run_chunk.apply(args=[str(job.pk), index, attempt]).get(propagate=True)
