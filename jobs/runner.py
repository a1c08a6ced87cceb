"""Running one chunk: claim it in the database, call the kind's handler, record the outcome.

The chunk row decides: a message for a chunk that is already done, failed or cancelled (a
redelivery after a crash, a duplicate from the recovery sweep) changes nothing.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs.models import Job, JobChunk, JobFailure
from jobs.registry import ChunkContext, ChunkOutcome, PermanentError, get_kind
from jobs.services import finish_if_complete

logger = logging.getLogger(__name__)

SKIPPED, RECORDED, FINISHED = "skipped", "recorded", "finished"
MAX_REASON = 500


def _locked_chunk(job_id, index):
    return (
        JobChunk.objects.select_for_update(of=("self",))
        .select_related("job")
        .filter(job_id=job_id, index=index)
        .first()
    )


def claim_chunk(job_id, index):
    """Mark the chunk running with a fresh lease, or return None if there is nothing to do."""
    now = timezone.now()
    with transaction.atomic():
        chunk = _locked_chunk(job_id, index)
        if chunk is None or chunk.status in JobChunk.TERMINAL:
            return None
        job = chunk.job
        if job.status not in (Job.Status.QUEUED, Job.Status.RUNNING) or job.error:
            if chunk.status == JobChunk.Status.RUNNING and chunk.lease_until and chunk.lease_until > now:
                return None  # a live claim elsewhere finishes its transaction and records it
            # Cancelled (or failed) while this message waited: the chunk never runs.
            JobChunk.objects.filter(pk=chunk.pk).update(
                status=JobChunk.Status.CANCELLED, finished=now, lease_until=None
            )
            Job.objects.filter(pk=job.pk).update(done=F("done"))  # lock the job row before finalising
            finish_if_complete(job.pk)
            return None
        chunk.status = JobChunk.Status.RUNNING
        chunk.started = chunk.started or now
        chunk.lease_until = now + timedelta(seconds=settings.JOBS_LEASE_SECONDS)
        chunk.save(update_fields=["status", "started", "lease_until"])
        Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING, started=now)
        return chunk


def _context(chunk):
    job = chunk.job
    return ChunkContext(
        job_id=str(job.pk), owner_id=job.owner_id, kind=job.kind, ids=list(chunk.ids),
        params=dict(job.params), chunk_index=chunk.index, offset=chunk.offset,
    )  # fmt: skip


def _call_handler(kind, context):
    """PermanentError turns every id of the chunk into a failure; other exceptions propagate."""
    try:
        if kind.atomic:
            with transaction.atomic():  # a savepoint: a permanent error undoes the partial effect
                outcome = kind.handler(context)
        else:
            outcome = kind.handler(context)
    except PermanentError as exc:
        reason = str(exc)[:MAX_REASON] or exc.__class__.__name__
        return ChunkOutcome(done=0, failures=[(item, reason) for item in context.ids]), reason
    if not isinstance(outcome, ChunkOutcome):
        raise TypeError(f"handler of {kind.name!r} returned {outcome!r}, not a ChunkOutcome")
    return outcome, ""


def _record(chunk, outcome, error=""):
    """Counters, failures and the chunk's status in the caller's transaction; True if it finalised."""
    ids = set(chunk.ids)
    failures = [(int(item), str(reason)[:MAX_REASON]) for item, reason in outcome.failures if item in ids]
    done = max(0, min(int(outcome.done), len(ids) - len(failures)))
    # The job row first: its lock orders concurrent chunks, so exactly one sees none remaining.
    Job.objects.filter(pk=chunk.job_id).update(done=F("done") + done, failed=F("failed") + len(failures))
    if outcome.commit is not None:
        outcome.commit()  # the kind's own bookkeeping, in this transaction (see ChunkOutcome)
    JobFailure.objects.bulk_create(
        [JobFailure(job_id=chunk.job_id, chunk_index=chunk.index, item_id=i, reason=r) for i, r in failures],
        batch_size=500,
    )
    JobChunk.objects.filter(pk=chunk.pk).update(
        status=JobChunk.Status.FAILED if error else JobChunk.Status.DONE,
        done=done, failed=len(failures), error=error, finished=timezone.now(), lease_until=None,
    )  # fmt: skip
    return finish_if_complete(chunk.job_id)


def run_chunk(job_id, index):
    """Run one chunk to completion. Transient errors propagate for the task to retry."""
    claimed = claim_chunk(job_id, index)
    if claimed is None:
        return SKIPPED
    kind = get_kind(claimed.job.kind)
    context = _context(claimed)
    if kind.atomic:
        # Effect and "chunk done" commit together: a crash before commit leaves both undone.
        with transaction.atomic():
            chunk = _locked_chunk(job_id, index)
            if chunk is None or chunk.status != JobChunk.Status.RUNNING:
                return SKIPPED  # a duplicate delivery finished it meanwhile
            outcome, error = _call_handler(kind, context)
            finished = _record(chunk, outcome, error)
    else:
        # Long work outside any transaction (no write lock held); the handler is idempotent.
        outcome, error = _call_handler(kind, context)
        with transaction.atomic():
            chunk = _locked_chunk(job_id, index)
            if chunk is None or chunk.status != JobChunk.Status.RUNNING:
                return SKIPPED
            finished = _record(chunk, outcome, error)
    return FINISHED if finished else RECORDED


def fail_chunk(job_id, index, reason, *, fail_job=False):
    """Every id of the chunk fails with `reason` (retries exhausted, or the handler crashed).

    With fail_job the job is marked failed too: its queued chunks are cancelled and it finishes
    `failed` with the reason once no chunk is running.
    """
    reason = str(reason)[:MAX_REASON]
    with transaction.atomic():
        chunk = _locked_chunk(job_id, index)
        if chunk is None or chunk.status in JobChunk.TERMINAL:
            return False
        if fail_job:
            Job.objects.filter(pk=job_id, finished__isnull=True).update(error=reason)
            JobChunk.objects.filter(job_id=job_id, status=JobChunk.Status.QUEUED).exclude(pk=chunk.pk).update(
                status=JobChunk.Status.CANCELLED, finished=timezone.now(), lease_until=None
            )
        outcome = ChunkOutcome(done=0, failures=[(item, reason) for item in chunk.ids])
        return _record(chunk, outcome, error=reason)


def requeue_for_retry(job_id, index, countdown):
    """Before a retry: the chunk waits queued, its lease covering the back-off."""
    from jobs.dispatch import lease_deadline

    live = (JobChunk.Status.QUEUED, JobChunk.Status.RUNNING)  # the error may have hit the claim itself
    JobChunk.objects.filter(job_id=job_id, index=index, status__in=live).update(
        status=JobChunk.Status.QUEUED, retries=F("retries") + 1, lease_until=lease_deadline(countdown)
    )
