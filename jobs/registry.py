"""Job kinds: what the engine can run, declared as small records and looked up by name.

`jobs` knows nothing about what a kind does. An app declares its kinds (in its own `job_kinds`
module, imported from its AppConfig.ready) and the engine calls `kind.handler(context)` for each
chunk of ids. A handler raises PermanentError to fail its chunk's items, TransientError to be
retried later.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChunkContext:
    """What a handler gets for one chunk: whose job, which ids, with which parameters."""

    job_id: str
    owner_id: int
    kind: str
    ids: list[int]
    params: dict
    chunk_index: int
    offset: int  # position of ids[0] in the job's whole id list (e.g. for "trip-{n:03}" renames)


@dataclass
class ChunkOutcome:
    """What a handler reports: how many ids succeeded and which failed, each with a reason."""

    done: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)
    # Called inside the transaction that records the chunk, once the engine has seen that no other
    # delivery recorded it first: a non-atomic handler's own bookkeeping commits with "chunk
    # done", exactly once. (Its other effects must be harmless until then, e.g. a new file.)
    commit: Callable[[], None] | None = None


@dataclass(frozen=True)
class ResultLink:
    """What a finished job offers on its card and in the API: a link (`url`), or only a note.

    `stage` orders a finished job's results (e.g. 0 "Preparing", 1 "Download", 2 "Expired"): the
    job's own counters no longer change, so the card's seq counts it and a socket drops a card
    rendered before the result changed that arrives after one rendered since (two processes).
    """

    label: str
    url: str = ""
    stage: int = 0


class PermanentError(Exception):
    """A failure that no retry can fix (bad parameters, a missing target): fail, don't retry."""


class TransientError(Exception):
    """A failure worth retrying (a storage service that timed out, a throttled API): the chunk is
    retried with back-off, like a locked database or an I/O error, up to JOBS_MAX_RETRIES."""


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    handler: Callable[[ChunkContext], ChunkOutcome]
    queue: str = "bulk"  # "bulk", or "auto": interactive when small (see interactive_max)
    chunk_size: int = 500
    interactive_max: int = 500  # with queue="auto", jobs of at most this many ids run interactive
    # atomic: the handler runs inside the engine's transaction, which also records the chunk as
    # done, so a redelivered chunk is a no-op. Non-atomic handlers (long image work that must not
    # hold a database write lock) must be idempotent by themselves.
    atomic: bool = True
    success_message: str = "{done} of {total} done"
    defer_seconds: int = 0  # a short undo window before the job starts (e.g. permanent delete)
    staff_only: bool = False
    # Called once, after the commit that finalised the job (any final status), with the Job:
    # e.g. to release a single-run lock that was taken when the job was submitted.
    on_finish: Callable | None = None
    # "Retry failed" runs the failed ids again as a new job; False where that means nothing.
    retryable: bool = True
    # Job -> None, for a kind whose result is made after its chunks (e.g. a file assembled from
    # the parts they wrote). When the last chunk is recorded and the job would succeed (fully or
    # partly), the job stays `running` and this is called after that commit; the kind then makes
    # the result and finishes the job with jobs.lifecycle.finish_with_result(job_id[, error]). So
    # a job that reads `succeeded` or `partial` has its result. A cancelled or failed job
    # finishes as any other (on_finish is called, make_result is not).
    make_result: Callable | None = None
    # Job -> ResultLink | None: the job's result (e.g. a download), shown on its card and given
    # as `download_url` by GET /api/jobs/<id>/.
    result_link: Callable | None = None
    # Job -> (bytes done, bytes total) | None, for kinds that move data: the card shows the bytes,
    # their rate and the ETA by bytes.
    byte_progress: Callable | None = None


_kinds: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    if kind.name in _kinds and _kinds[kind.name] != kind:
        raise ValueError(f"job kind {kind.name!r} is already registered")
    _kinds[kind.name] = kind
    return kind


def get_kind(name: str) -> JobKind:
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None


def all_kinds() -> list[JobKind]:
    return list(_kinds.values())


def label_of(name):
    """A kind's label for pages, or its name if the kind is no longer registered."""
    try:
        return get_kind(name).label
    except LookupError:
        return name
