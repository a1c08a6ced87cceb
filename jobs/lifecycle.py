"""Every change of a job's or a chunk's status, and the progress event it publishes on commit.

Rules every function here keeps (jobs/README.md explains why they give exactly once):

- Lock order: a chunk row, then its job row. A transaction holding a job row never waits for a
  chunk row: cancel skips chunks that a claim holds (`skip_locked`), and that claim then sees the
  cancel on the job row it locks next.
- A chunk changes hands only by compare-and-set on what was read: status, generation (`attempt`,
  bumped by every resend) and, for a running chunk, its claim (`deliveries`). A claim that lost its
  chunk, or a resend of a chunk that was taken meanwhile, changes nothing.
- A claim never takes a live lease. Leases are written and compared with the database's clock.
  A running claim's lease is short and renewed by its worker's heartbeat (jobs.heartbeat) for that
  claim only; the sweep never waits for a locked chunk row (a live transaction holds it).
- Every transaction that moves a chunk to a final state locks the job row before looking for chunks
  still live, so exactly one of them sees none left and finalises the job (a conditional UPDATE).
- Messages are sent and events published only after the commit that makes them true; a broker that
  cannot be reached leaves the chunk queued with an expired lease, for the next sweep.
"""

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import BooleanField, Case, DateTimeField, ExpressionWrapper, F, Value, When
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from jobs import dispatch, progress
from jobs.conf import settings
from jobs.models import Job, JobChunk, JobFailure, task_id_for
from jobs.registry import ChunkContext, ChunkOutcome, get_kind

logger = logging.getLogger(__name__)

MAX_REASON = 500
WORKER_DIED = "the worker died while processing this item"
UPDATE_BATCH = 500


def db_now_plus(seconds):
    """`now() + seconds` on the database's clock: one clock for every host that writes or compares."""
    return ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())


def _lease_is_live():
    live = When(lease_until__gt=Now(), then=Value(True))
    return Case(live, default=Value(False), output_field=BooleanField())


def _publish_on_commit(job_id, *, final=False):
    transaction.on_commit(lambda: progress.publish_job(job_id, force=final))


def publish_trailing(job_id):
    """The card the throttle held back (see progress); a finished job's last card is already out."""
    if Job.objects.filter(pk=job_id, finished__isnull=True).exists():
        progress.publish_job(job_id, force=True)


def _lock_job(job_id):
    return Job.objects.select_for_update().get(pk=job_id)


def _chunks_for_update(**skip_locked):
    """Chunk rows locked, and only them: no default ordering, whose join would lock the job too."""
    return JobChunk.objects.select_for_update(of=("self",), **skip_locked).order_by()


def _close_chunks(pks, status):
    """Mark chunks final without an outcome (cancelled), in bounded statements."""
    pks = list(pks)
    for start in range(0, len(pks), UPDATE_BATCH):
        JobChunk.objects.filter(pk__in=pks[start : start + UPDATE_BATCH]).update(
            status=status, finished=timezone.now(), lease_until=None
        )


# --- Starting a job ---------------------------------------------------------------------------


def submitted(job, *, send_now):
    """Inside the transaction that created the job and its chunks: finish an empty job, send the
    chunks of one that may start (after commit), publish its first card."""
    if not job.total:
        finish_if_complete(job.pk)
    elif send_now:
        dispatch_job(job)
    _publish_on_commit(job.pk, final=not job.total)


def dispatch_job(job):
    """Mark a queued job's chunks as sent (generation 1) and send them after commit.

    The job row first: no one holds a chunk of an undispatched job while waiting for its job (a
    claim drops a message whose generation the chunk does not have before locking the job).
    """
    countdown = max(0.0, (job.run_after - timezone.now()).total_seconds()) if job.run_after else 0.0
    with transaction.atomic():
        marked = Job.objects.filter(pk=job.pk, dispatched__isnull=True, status=Job.Status.QUEUED).update(
            dispatched=timezone.now()
        )
        if not marked:
            return False
        JobChunk.objects.filter(job_id=job.pk, status=JobChunk.Status.QUEUED).update(
            attempt=F("attempt") + 1, lease_until=db_now_plus(countdown + settings.JOBS_QUEUED_LEASE_SECONDS)
        )
        transaction.on_commit(lambda: _send_queued_chunks(job.pk, countdown))
    return True


def _send_queued_chunks(job_id, countdown):
    job = Job.objects.get(pk=job_id)
    queued = JobChunk.objects.filter(job_id=job_id, status=JobChunk.Status.QUEUED).order_by("index")
    index = None
    try:
        for index, attempt in queued.values_list("index", "attempt").iterator(chunk_size=500):
            dispatch.send_chunk(job, index, attempt, countdown=countdown)
    except Exception:
        logger.exception("jobs: could not send job %s from chunk %s on; the sweep will", job_id, index)
        _expire_leases(queued if index is None else queued.filter(index__gte=index))


def _send_after_commit(job_id, index, attempt, *, countdown=0.0, queue=None, urgent=False):
    def send():
        job = Job.objects.get(pk=job_id)
        try:
            dispatch.send_chunk(job, index, attempt, countdown=countdown, queue=queue, urgent=urgent)
        except Exception:
            logger.exception("jobs: could not send chunk %s of job %s; the sweep will", index, job_id)
            _expire_leases(JobChunk.objects.filter(job_id=job_id, index=index, attempt=attempt))

    transaction.on_commit(send)


def _expire_leases(chunks):
    """The message was never sent: let the next sweep send it, without waiting for the lease."""
    chunks.filter(status=JobChunk.Status.QUEUED).update(lease_until=Now())


# --- A worker's claim and its outcome ---------------------------------------------------------


def claim(job_id, index):
    """Take the chunk for a delivery of its task, or None when there is nothing to do.

    Nothing to do: the chunk is final, another claim holds a live lease on it (a duplicate
    delivery), or its job was cancelled or failed (the chunk is then closed). While the chunk is
    queued, a message of any generation may claim it: the claim under the row lock is what makes a
    run exclusive, and waiting for the newest generation would starve a backlog that is older than
    the queued lease (every message would be stale by the time it reaches the front). A chunk whose
    workers died JOBS_MAX_DELIVERIES times is not run again: its items fail with WORKER_DIED.
    """
    with transaction.atomic():
        chunk = _chunks_for_update().annotate(lease_is_live=_lease_is_live())
        chunk = chunk.filter(job_id=job_id, index=index).first()
        if chunk is None or chunk.status in JobChunk.TERMINAL:
            return None
        if chunk.status == JobChunk.Status.RUNNING and chunk.lease_is_live:
            return None  # a duplicate delivery: the live claim finishes and records the chunk
        job = _lock_job(job_id)
        if job.status not in Job.RUNNABLE or job.error:
            _close_chunks([chunk.pk], JobChunk.Status.CANCELLED)
            if finish_if_complete(job_id):
                _publish_on_commit(job_id, final=True)
            return None
        if chunk.deliveries - chunk.retries >= settings.JOBS_MAX_DELIVERIES:
            logger.error(
                "jobs: chunk %s of job %s killed its worker %s times",
                index,
                job_id,
                chunk.deliveries - chunk.retries,
            )
            record(chunk, ChunkOutcome(failures=[(item, WORKER_DIED) for item in chunk.ids]), WORKER_DIED)
            return None
        lease_from = time.monotonic()  # the lease ends no sooner than a lease from now (see heartbeat)
        JobChunk.objects.filter(pk=chunk.pk).update(
            status=JobChunk.Status.RUNNING,
            deliveries=F("deliveries") + 1,
            lease_until=db_now_plus(settings.JOBS_CLAIM_LEASE_SECONDS),
            started=Coalesce(F("started"), Now()),
        )
        if job.status == Job.Status.QUEUED:
            Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started=timezone.now())
        chunk.status, chunk.deliveries, chunk.job = JobChunk.Status.RUNNING, chunk.deliveries + 1, job
        chunk.lease_from = lease_from
        return chunk


def renew_claim(claimed):
    """The heartbeat: extend this claim's lease from the database's now(); False if the claim no
    longer holds the chunk (it was recorded, or taken after its lease ran out)."""
    holder = {"status": JobChunk.Status.RUNNING, "attempt": claimed.attempt, "deliveries": claimed.deliveries}
    renewed = JobChunk.objects.filter(pk=claimed.pk, **holder).update(
        lease_until=db_now_plus(settings.JOBS_CLAIM_LEASE_SECONDS)
    )
    return bool(renewed)


def context_of(chunk):
    job = chunk.job
    return ChunkContext(
        job_id=str(job.pk), owner_id=job.owner_id, kind=job.kind, ids=list(chunk.ids),
        params=dict(job.params), chunk_index=chunk.index, offset=chunk.offset,
    )  # fmt: skip


def lock_claimed(claimed):
    """In the caller's transaction: the claimed chunk, locked, if this claim still holds it."""
    holder = {"status": JobChunk.Status.RUNNING, "attempt": claimed.attempt, "deliveries": claimed.deliveries}
    return _chunks_for_update().filter(pk=claimed.pk, **holder).first()


def record(chunk, outcome, error=""):
    """Counters, failures and the chunk's final status in the caller's transaction (which holds the
    chunk row); True if this chunk finalised the job."""
    ids = set(chunk.ids)
    failures = [(int(item), str(reason)[:MAX_REASON]) for item, reason in outcome.failures if item in ids]
    done = max(0, min(int(outcome.done), len(ids) - len(failures)))
    # The job row next: its lock orders the chunks of a job, so exactly one sees none remaining.
    Job.objects.filter(pk=chunk.job_id).update(done=F("done") + done, failed=F("failed") + len(failures))
    if outcome.commit is not None:
        outcome.commit()  # the kind's own bookkeeping, in this transaction (see ChunkOutcome)
    JobFailure.objects.bulk_create(
        [JobFailure(job_id=chunk.job_id, chunk_index=chunk.index, item_id=i, reason=r) for i, r in failures],
        batch_size=500,
    )
    JobChunk.objects.filter(pk=chunk.pk).update(
        status=JobChunk.Status.FAILED if error else JobChunk.Status.DONE,
        done=done, failed=len(failures), error=str(error)[:MAX_REASON], finished=timezone.now(),
        lease_until=None,
    )  # fmt: skip
    finished = finish_if_complete(chunk.job_id)
    _publish_on_commit(chunk.job_id, final=finished)
    return finished


def retry_later(job_id, index, attempt, countdown, claimed=None):
    """A transient error: the chunk waits queued (its lease covering the back-off) and the same
    generation is sent again with a countdown. A no-op if the chunk changed hands meanwhile."""
    with transaction.atomic():
        if claimed is not None:
            attempt = claimed.attempt
            chunk = JobChunk.objects.filter(
                pk=claimed.pk, status=JobChunk.Status.RUNNING, attempt=attempt, deliveries=claimed.deliveries
            )
        else:  # the error hit the claim itself: count it as a delivery that reported back
            chunk = JobChunk.objects.filter(
                job_id=job_id, index=index, attempt=attempt, status=JobChunk.Status.QUEUED
            )
        changed = chunk.update(
            status=JobChunk.Status.QUEUED,
            retries=F("retries") + 1,
            deliveries=F("deliveries") + (0 if claimed is not None else 1),
            lease_until=db_now_plus(countdown + settings.JOBS_QUEUED_LEASE_SECONDS),
        )
        if changed:
            _send_after_commit(job_id, index, attempt, countdown=countdown)
    return bool(changed)


def retries_of(job_id, index):
    return JobChunk.objects.filter(job_id=job_id, index=index).values_list("retries", flat=True).first() or 0


def fail_chunk(job_id, index, reason, *, fail_job=False):
    """Every id of the chunk fails with `reason` (retries exhausted, or the handler crashed: the
    caller's claim holds the chunk, or it is queued).

    With fail_job the job is marked failed too: its queued chunks are cancelled (those a claim
    holds right now see the job's error and stop) and it finishes `failed` with the reason once no
    chunk is running. Returns whether the chunk was still live (False: nothing changed).
    """
    reason = str(reason)[:MAX_REASON]
    with transaction.atomic():
        chunk = _chunks_for_update().filter(job_id=job_id, index=index).first()
        if chunk is None or chunk.status in JobChunk.TERMINAL:
            return False
        if fail_job:
            Job.objects.filter(pk=job_id, finished__isnull=True).update(error=reason)
            queued = _chunks_for_update(skip_locked=True).filter(job_id=job_id, status=JobChunk.Status.QUEUED)
            queued = queued.exclude(pk=chunk.pk)
            _close_chunks(queued.values_list("pk", flat=True), JobChunk.Status.CANCELLED)
        record(chunk, ChunkOutcome(failures=[(item, reason) for item in chunk.ids]), error=reason)
    return True


# --- The sweep: chunks whose message was lost ---------------------------------------------------


def stalled_chunks(limit):
    """Live chunks of sent jobs whose lease is over (database clock), oldest first, as read now."""
    return list(
        JobChunk.objects.filter(
            status__in=JobChunk.LIVE, lease_until__lt=Now(), job__dispatched__isnull=False
        )
        .order_by("lease_until")
        .values("pk", "job_id", "index", "status", "attempt", "job__status", "job__error")[:limit]
    )


def _still_stalled(row):
    """Compare-and-set, in the caller's transaction: the chunk is as the sweep read it and its lease
    is still over. A row someone holds locked is skipped, not waited for: on PostgreSQL that is a
    live transaction (a worker recording it, or running an atomic chunk longer than its lease,
    which the lock guards); waiting would hold every other stalled chunk up behind it."""
    stalled = _chunks_for_update(skip_locked=True).filter(
        pk=row["pk"], status=row["status"], attempt=row["attempt"], lease_until__lt=Now()
    )
    return JobChunk.objects.filter(pk__in=list(stalled.values_list("pk", flat=True)))


def resend(row, *, queue=None):
    """Send a stalled chunk again as a new generation, if it is still as read; True if sent.

    Each resend trusts the new message twice as long (up to 8x): when the queue's backlog is older
    than the queued lease, resending every lease would only pile up duplicates behind it. A chunk
    whose worker died (it was running) goes ahead of its job's queued chunks: it was started first.
    """
    patience = settings.JOBS_QUEUED_LEASE_SECONDS * min(8, 2 ** row["attempt"])
    with transaction.atomic():
        changed = _still_stalled(row).update(
            status=JobChunk.Status.QUEUED, attempt=F("attempt") + 1, lease_until=db_now_plus(patience)
        )
        if changed:
            urgent = row["status"] == JobChunk.Status.RUNNING
            _send_after_commit(row["job_id"], row["index"], row["attempt"] + 1, queue=queue, urgent=urgent)
    return bool(changed)


def resend_expired(job_id, index, attempt, queue):
    """An interactive message that expired unclaimed: the same chunk, a new generation, on `queue`."""
    with transaction.atomic():
        changed = JobChunk.objects.filter(
            job_id=job_id, index=index, attempt=attempt, status=JobChunk.Status.QUEUED
        ).update(attempt=F("attempt") + 1, lease_until=db_now_plus(settings.JOBS_QUEUED_LEASE_SECONDS))
        if changed:
            _send_after_commit(job_id, index, attempt + 1, queue=queue)
    return bool(changed)


def close_stalled(row):
    """A stalled chunk of a cancelled (or failed) job never runs: close it, finalise the job."""
    with transaction.atomic():
        if not _still_stalled(row).update(
            status=JobChunk.Status.CANCELLED, finished=timezone.now(), lease_until=None
        ):
            return False
        _lock_job(row["job_id"])
        finished = finish_if_complete(row["job_id"])
        _publish_on_commit(row["job_id"], final=finished)
    return True


# --- Cancelling and finishing -------------------------------------------------------------------


def cancel(job_id):
    """Stop a job: queued chunks never run; a running chunk finishes its transaction.

    The flag lives in the job row (checked by every claim), so it survives worker restarts;
    revoking the queued task ids only saves workers a little effort. True if the job was active.
    """
    with transaction.atomic():
        if not Job.objects.filter(pk=job_id, status__in=Job.ACTIVE).update(status=Job.Status.CANCELLING):
            return False
        # Never wait for a chunk while holding the job: a chunk a claim holds is skipped here, and
        # that claim, locking the job next, sees the cancel and closes its chunk itself.
        queued = _chunks_for_update(skip_locked=True).filter(job_id=job_id, status=JobChunk.Status.QUEUED)
        queued = list(queued.values_list("pk", "index", "attempt"))
        _close_chunks([pk for pk, _index, _attempt in queued], JobChunk.Status.CANCELLED)
        finish_if_complete(job_id)
        task_ids = [task_id_for(job_id, index, attempt) for _pk, index, attempt in queued]
        transaction.on_commit(lambda: dispatch.revoke(task_ids))
        _publish_on_commit(job_id, final=True)
    return True


def finish_if_complete(job_id, *, result_made=False):
    """Finalise the job when no chunk is left to run; True for the one caller that finalised it.

    Call inside the transaction that changed a chunk, after locking the job row (updating its
    counters does), so the last chunk to commit is the one that sees none remaining. A job whose
    kind makes its result afterwards stays running until then (see finish_with_result).
    """
    if JobChunk.objects.filter(job_id=job_id, status__in=JobChunk.LIVE).exists():
        return False
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.CANCELLING:
        status = Job.Status.CANCELLED
    elif job.error or (job.failed and not job.done):
        status = Job.Status.FAILED
    elif job.failed:
        status = Job.Status.PARTIAL
    else:
        status = Job.Status.SUCCEEDED
    if not result_made and status in RESULT_STATUSES and _awaits_result(job):
        return False
    now = timezone.now()
    finalised = bool(
        Job.objects.filter(pk=job_id, finished__isnull=True).update(
            status=status, finished=now, started=job.started or now
        )
    )
    if finalised:
        transaction.on_commit(lambda: _run_on_finish(job_id))
    return finalised


# --- Kinds that make their result after their chunks (JobKind.make_result) ----------------------

RESULT_STATUSES = (Job.Status.SUCCEEDED, Job.Status.PARTIAL)


def _awaits_result(job):
    """Keep the job running and ask its kind for the result after this commit; False for kinds
    whose chunks are their result."""
    try:
        hook = get_kind(job.kind).make_result
    except LookupError:
        return False
    if hook is None:
        return False
    transaction.on_commit(lambda: _run_make_result(job.pk))
    _publish_on_commit(job.pk, final=True)  # every item is done: the card says so at once
    return True


def _run_make_result(job_id):
    job = Job.objects.get(pk=job_id)
    try:
        get_kind(job.kind).make_result(job)
    except Exception:  # e.g. the broker is down: the kind's own sweep asks again (awaiting_result)
        logger.exception("make_result hook of job %s (%s) failed", job.pk, job.kind)


def finish_with_result(job_id, error=""):
    """The kind has made its result (or, with `error`, failed to): finalise a job that awaits it.

    Joins the caller's transaction (so the kind's own "result ready" write commits with the job's
    final status) and locks the job row first. Returns the job's status afterwards: `succeeded`
    or `partial` when the result counts, `failed` with `error`, or the final status the job had
    already reached (e.g. cancelled meanwhile: the caller then discards its result).
    """
    with transaction.atomic():
        job = _lock_job(job_id)
        if job.finished is None and job.status in Job.RUNNABLE:
            if error:
                Job.objects.filter(pk=job_id).update(error=str(error)[:MAX_REASON])
            if finish_if_complete(job_id, result_made=True):
                _publish_on_commit(job_id, final=True)
        return Job.objects.filter(pk=job_id).values_list("status", flat=True).get()


def _run_on_finish(job_id):
    job = Job.objects.get(pk=job_id)
    try:
        hook = get_kind(job.kind).on_finish
    except LookupError:
        return
    if hook is not None:
        try:
            hook(job)
        except Exception:  # the job is final whatever a hook does; log, never undo
            logger.exception("on_finish hook of job %s (%s) failed", job.pk, job.kind)
