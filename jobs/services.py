"""Changing jobs: submit, dispatch, cancel, retry. Plain functions; views, API and admin call them."""

import logging
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import dispatch
from jobs.models import Job, JobChunk, JobFailure
from jobs.registry import JobKind, get_kind

logger = logging.getLogger(__name__)

CREATE_BATCH = 200  # chunk rows per INSERT


def _int_ids(ids, seen=None):
    """Validate and de-duplicate ids lazily (order kept), so a bad id fails before anything is sent."""
    seen = set() if seen is None else seen
    for raw in ids:
        if isinstance(raw, bool):
            raise ValueError(f"job ids must be integers, got {raw!r}")
        if not isinstance(raw, int):
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise ValueError(f"job ids must be integers, got {raw!r}") from None
        else:
            value = raw
        if value not in seen:
            seen.add(value)
            yield value


def _batched(iterable, size):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _given_chunks(groups):
    """The caller's chunks (lists of ids), validated and de-duplicated across all of them."""
    seen = set()
    for group in groups:
        if chunk_ids := list(_int_ids(group, seen)):
            yield chunk_ids


def submit(kind, owner, ids, *, params=None, chunk_size=None, retry_of=None, chunked=False) -> Job:
    """Create a job over `ids` (any iterable of ints) and send its chunks once the rows commit.

    With `chunked`, `ids` yields lists of ids, one chunk each, for kinds that bound a chunk by
    something other than a count (e.g. bytes).

    The job row and all its chunk rows are written in one transaction; chunk tasks are sent on
    commit. A kind with `defer_seconds` (undo window) starts that much later: a short wait is a
    broker countdown, a longer one waits in the database for the beat sweep.
    """
    kind = kind if isinstance(kind, JobKind) else get_kind(kind)
    if kind.staff_only and not owner.is_staff:
        raise PermissionDenied(f"{kind.label} is for staff only")
    params = dict(params or {})
    size = int(chunk_size or params.get("chunk_size") or kind.chunk_size)
    if size < 1:
        raise ValueError("chunk_size must be at least 1")
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            owner=owner, kind=kind.name, params=params, chunk_size=size, retry_of=retry_of, created=now
        )
        total = count = 0
        pending = []
        for chunk_ids in _given_chunks(ids) if chunked else _batched(_int_ids(ids), size):
            pending.append(JobChunk(job=job, index=count, offset=total, ids=chunk_ids, size=len(chunk_ids)))
            total += len(chunk_ids)
            count += 1
            if len(pending) >= CREATE_BATCH:
                JobChunk.objects.bulk_create(pending)
                pending = []
        JobChunk.objects.bulk_create(pending)
        job.total, job.chunk_count = total, count
        job.queue = dispatch.choose_queue(kind, total)
        job.priority = dispatch.choose_priority(job.queue, total)
        if total == 0:
            job.status, job.started, job.finished = Job.Status.SUCCEEDED, now, now
        elif kind.defer_seconds:
            job.run_after = now + timedelta(seconds=kind.defer_seconds)
        job.save()
        if total and (job.run_after is None or kind.defer_seconds <= settings.JOBS_MAX_COUNTDOWN):
            dispatch_job(job)
        transaction.on_commit(lambda: _publish(job.pk))
    return job


def dispatch_job(job):
    """Mark the job's queued chunks as sent and send them after commit (call inside a transaction)."""
    now = timezone.now()
    countdown = max(0.0, (job.run_after - now).total_seconds()) if job.run_after else 0.0
    updated = Job.objects.filter(pk=job.pk, dispatched__isnull=True, status=Job.Status.QUEUED).update(
        dispatched=now
    )
    if not updated:
        return
    JobChunk.objects.filter(job=job, status=JobChunk.Status.QUEUED).update(
        attempt=F("attempt") + 1, lease_until=dispatch.lease_deadline(countdown)
    )
    transaction.on_commit(lambda: _send_queued_chunks(job.pk, countdown))


def _send_queued_chunks(job_id, countdown):
    job = Job.objects.get(pk=job_id)
    chunks = JobChunk.objects.filter(job_id=job_id, status=JobChunk.Status.QUEUED).only("index", "attempt")
    for chunk in chunks.iterator(chunk_size=500):
        dispatch.send_chunk(job, chunk, countdown=countdown)


def resend_chunk(chunk, *, countdown=0.0, queue=None):
    """Send a chunk again under a new task id (lost message, expired interactive task)."""
    with transaction.atomic():
        JobChunk.objects.filter(pk=chunk.pk).update(
            attempt=F("attempt") + 1,
            status=JobChunk.Status.QUEUED,
            lease_until=dispatch.lease_deadline(countdown),
        )
        chunk.refresh_from_db()
        job = chunk.job
        transaction.on_commit(lambda: dispatch.send_chunk(job, chunk, countdown=countdown, queue=queue))


def owned_job(job_id, user):
    """The job if `user` may see it (see selectors.jobs_of); else Job.DoesNotExist (404, not 403)."""
    from jobs.selectors import jobs_of

    return jobs_of(user).get(pk=job_id)


def cancel_job(job, user=None):
    """Stop a job: queued chunks never run; a running chunk finishes its transaction.

    The flag lives in the database (checked whenever a chunk is claimed), so it survives worker
    restarts; revoking the queued task ids only saves workers a little effort.
    Returns True if the job was active and is now cancelling or cancelled.
    """
    if user is not None:
        owned_job(job.pk, user)  # raises Job.DoesNotExist for a job the user may not see
    now = timezone.now()
    with transaction.atomic():
        changed = Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE).update(status=Job.Status.CANCELLING)
        if not changed:
            return False
        queued = JobChunk.objects.filter(job=job, status=JobChunk.Status.QUEUED)
        task_ids = [dispatch.task_id_for(job.pk, i, a) for i, a in queued.values_list("index", "attempt")]
        queued.update(status=JobChunk.Status.CANCELLED, finished=now, lease_until=None)
        finish_if_complete(job.pk)
        transaction.on_commit(lambda: _revoke(task_ids))
        transaction.on_commit(lambda: _publish(job.pk))
    job.refresh_from_db()
    return True


def _revoke(task_ids):
    from project.celery import app

    for batch in _batched(task_ids, 500):
        app.control.revoke(batch)


def retry_failed(job, user=None) -> Job:
    """Run the failed items of a finished job again, as a new job (`retry_of` links the two).

    A new job keeps the first run's history (counts, reasons) intact and gives the retry its own
    progress card. Only ids listed in the job's failures are retried.
    """
    if user is not None and job.owner_id != user.pk:
        raise Job.DoesNotExist
    if job.is_active:
        raise ValueError("the job is still running; retry it once it has finished")
    if not get_kind(job.kind).retryable:
        raise ValueError(f"a {get_kind(job.kind).label} job cannot be retried; start a new one")
    failed_ids = (
        JobFailure.objects.filter(job=job)
        .order_by("chunk_index", "item_id")
        .values_list("item_id", flat=True)
    )
    if not job.failed:
        raise ValueError("the job has no failed items to retry")
    return submit(
        job.kind, job.owner, failed_ids.iterator(chunk_size=2000), params=job.params,
        chunk_size=job.chunk_size, retry_of=job,
    )  # fmt: skip


def finish_if_complete(job_id):
    """Finalise the job when no chunk is left to run; True for the one caller that finalised it.

    Call inside the transaction that recorded a chunk, after updating the job's counters (that
    UPDATE locks the job row, so the last chunk to commit is the one that sees none remaining).
    """
    live = (JobChunk.Status.QUEUED, JobChunk.Status.RUNNING)
    if JobChunk.objects.filter(job_id=job_id, status__in=live).exists():
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
    now = timezone.now()
    finalised = bool(
        Job.objects.filter(pk=job_id, finished__isnull=True).update(
            status=status, finished=now, started=job.started or now
        )
    )
    if finalised:
        transaction.on_commit(lambda: _run_on_finish(job_id))
    return finalised


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


def _publish(job_id):
    from jobs.progress import publish_job

    publish_job(job_id, force=True)
