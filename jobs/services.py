"""Submit, cancel, retry: what views, the API and the admin ask of the engine. Plain functions.

Every status they change is written by jobs.lifecycle; here are the checks (ownership, staff-only
kinds, what may be retried) and the creation of a job's rows.
"""

from datetime import timedelta
from itertools import islice

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs import dispatch, lifecycle
from jobs.conf import settings
from jobs.models import Job, JobChunk, JobFailure
from jobs.registry import JobKind, get_kind
from jobs.selectors import jobs_of

CREATE_BATCH = 200  # chunk rows per INSERT


class RetryInFlight(ValueError):
    """The job already has a retry that has not finished (a second click, another tab)."""


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
    commit (a broker that cannot be reached then is logged: the sweep sends them later). A kind
    with `defer_seconds` (undo window) starts that much later: a short wait is a broker
    countdown, a longer one waits in the database for the beat sweep.
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
        if total and kind.defer_seconds:
            job.run_after = now + timedelta(seconds=kind.defer_seconds)
        job.save(update_fields=["total", "chunk_count", "queue", "priority", "run_after"])
        lifecycle.submitted(job, send_now=kind.defer_seconds <= settings.JOBS_MAX_COUNTDOWN)
    job.refresh_from_db()
    return job


def owned_job(job_id, user):
    """The job if `user` may see it (see selectors.jobs_of); else Job.DoesNotExist (404, not 403)."""
    return jobs_of(user).get(pk=job_id)


def cancel_job(job, user=None):
    """Stop a job: queued chunks never run; a running chunk finishes its transaction.

    Returns True if the job was active and is now cancelling or cancelled.
    """
    if user is not None:
        owned_job(job.pk, user)  # raises Job.DoesNotExist for a job the user may not see
    cancelled = lifecycle.cancel(job.pk)
    job.refresh_from_db()
    return cancelled


def retry_failed(job, user=None) -> Job:
    """Run the failed items of a finished job again, as a new job (`retry_of` links the two).

    A new job keeps the first run's history (counts, reasons) intact and gives the retry its own
    progress card; it belongs to the job's owner, whoever asked (staff may retry the maintenance
    jobs they see). Only ids listed in the job's failures are retried, and a job has at most one
    retry in flight: the database refuses a second one (RetryInFlight), however close the clicks.
    """
    if user is not None:
        job = owned_job(job.pk, user)  # raises Job.DoesNotExist for a job the user may not see
    if job.is_active:
        raise ValueError("the job is still running; retry it once it has finished")
    if not get_kind(job.kind).retryable:
        raise ValueError(f"a {get_kind(job.kind).label} job cannot be retried; start a new one")
    if not job.failed:
        raise ValueError("the job has no failed items to retry")
    failed_ids = (
        JobFailure.objects.filter(job=job)
        .order_by("chunk_index", "item_id")
        .values_list("item_id", flat=True)
        .iterator(chunk_size=2000)
    )
    try:
        return submit(
            job.kind, job.owner, failed_ids, params=job.params, chunk_size=job.chunk_size, retry_of=job
        )
    except IntegrityError:  # job_one_retry_in_flight: the only unique rule a new job can break
        raise RetryInFlight("a retry of this job is already running") from None
