"""Running one chunk: claim it, call the kind's handler, record the outcome, or decide to retry.

The chunk row decides (see jobs.lifecycle): a message for a chunk that is already final, of an
older generation, or held by a live claim elsewhere (a redelivery after a crash, a duplicate from
the sweep) changes nothing. The task in jobs.tasks only calls `run_chunk`.
"""

import logging

from django.db import OperationalError, transaction

from jobs import lifecycle
from jobs.conf import settings
from jobs.dispatch import retry_backoff
from jobs.heartbeat import Heartbeat
from jobs.registry import ChunkOutcome, PermanentError, TransientError, get_kind

logger = logging.getLogger(__name__)

SKIPPED, RECORDED, FINISHED, RETRYING, FAILED = "skipped", "recorded", "finished", "retrying", "failed"
# Worth retrying: a locked or unreachable database, storage I/O, a handler's TransientError.
TRANSIENT_ERRORS = (OperationalError, OSError, TransientError)


def run_chunk(job_id, index, attempt):
    """Run one chunk (a message of generation `attempt`) to an outcome; returns what happened.

    Transient errors are retried with back-off (the same generation, sent again after a countdown)
    up to JOBS_MAX_RETRIES, then the chunk's items fail. Any other exception fails the chunk and the
    job with its reason, and is raised again so the task is marked failed too.
    """
    try:
        claimed = lifecycle.claim(job_id, index)
    except TRANSIENT_ERRORS as exc:
        return _retry_or_give_up(job_id, index, attempt, exc)
    if claimed is None:
        return SKIPPED
    try:
        finished = _execute(get_kind(claimed.job.kind), claimed)
    except TRANSIENT_ERRORS as exc:
        return _retry_or_give_up(job_id, index, attempt, exc, claimed)
    except Exception as exc:
        reason = f"{exc.__class__.__name__}: {exc}"
        lifecycle.fail_chunk(job_id, index, reason, fail_job=True)
        raise
    if finished is None:
        return SKIPPED
    return FINISHED if finished else RECORDED


def _execute(kind, claimed):
    """The handler and the record; None if the claim was lost meanwhile (nothing recorded).

    While the chunk row is locked, the lock guards the claim; while a non-atomic handler runs
    without it, the heartbeat does (see jobs.heartbeat)."""
    context = lifecycle.context_of(claimed)
    if kind.atomic:
        # Effect and "chunk done" commit together: a crash before commit leaves both undone.
        with transaction.atomic():
            chunk = lifecycle.lock_claimed(claimed)
            if chunk is None:
                return None
            outcome, error = _call_handler(kind, context)
            return lifecycle.record(chunk, outcome, error)
    # Long work outside any transaction (no write lock held); the handler is idempotent.
    with Heartbeat(claimed):  # stopped before anything changes the chunk (record, retry, fail)
        outcome, error = _call_handler(kind, context)
    with transaction.atomic():
        chunk = lifecycle.lock_claimed(claimed)
        if chunk is None:
            return None
        return lifecycle.record(chunk, outcome, error)


def _call_handler(kind, context):
    """PermanentError turns every id of the chunk into a failure; other exceptions propagate."""
    try:
        if kind.atomic:
            with transaction.atomic():  # a savepoint: a permanent error undoes the partial effect
                outcome = kind.handler(context)
        else:
            outcome = kind.handler(context)
    except PermanentError as exc:
        reason = str(exc)[: lifecycle.MAX_REASON] or exc.__class__.__name__
        return ChunkOutcome(done=0, failures=[(item, reason) for item in context.ids]), reason
    if not isinstance(outcome, ChunkOutcome):
        raise TypeError(f"handler of {kind.name!r} returned {outcome!r}, not a ChunkOutcome")
    return outcome, ""


def _retry_or_give_up(job_id, index, attempt, exc, claimed=None):
    retries = claimed.retries if claimed is not None else lifecycle.retries_of(job_id, index)
    if retries >= settings.JOBS_MAX_RETRIES:
        lifecycle.fail_chunk(job_id, index, f"gave up after {retries} retries: {exc}")
        return FAILED
    countdown = retry_backoff(retries)
    if lifecycle.retry_later(job_id, index, attempt, countdown, claimed):
        logger.warning("job %s chunk %s: transient %r, retry in %.1fs", job_id, index, exc, countdown)
        return RETRYING
    return SKIPPED
