"""The media library's job kinds, registered with jobs.registry (the engine never imports us).

Each kind is a small declarative record; its handler is a thin adapter from the engine's
ChunkContext to a plain function in `media_library.operations`. Database kinds run inside the
engine's transaction (atomic), which also records the chunk as done, so a redelivered chunk
changes nothing twice; the operations are idempotent on their own as well.

Ids no longer eligible when a chunk runs: if the end state already holds they count as done
(trash of a trashed file, restore of a live one, move into the current folder, delete of a gone
file); otherwise they are failures with a reason ("not found", "in the trash", "not in the trash").
A target folder that is gone or not the owner's fails the job permanently (no retry can fix it).
"""

from jobs.registry import ChunkContext, ChunkOutcome, JobKind, PermanentError, register
from media_library import operations
from media_library.operations import OperationError

# Ids per chunk for the set-based database kinds. A chunk's cost is mostly fixed (a transaction,
# its commit writing the touched index pages, the engine's bookkeeping), so bigger chunks are
# cheaper per file: 2,000 ids take ~30 ms on SQLite, short enough to hold the write lock and to
# report progress often (100,000 files = 50 updates). bench/bench_library.py measures it.
FILE_CHUNK = 2000


def _run(operation, ctx: ChunkContext, **params):
    try:
        result = operation(ctx.owner_id, ctx.ids, **params)
    except OperationError as error:
        raise PermanentError(str(error)) from error
    return ChunkOutcome(done=result.done, failures=list(result.failures))


def handle_trash(ctx):
    return _run(operations.trash, ctx)


def handle_restore(ctx):
    return _run(operations.restore, ctx)


def handle_delete(ctx):
    return _run(operations.delete_permanently, ctx)


def handle_empty_trash(ctx):
    return _run(operations.empty_trash, ctx)


def handle_move(ctx):
    return _run(operations.move, ctx, target_folder_id=ctx.params.get("target_folder_id"))


def handle_copy(ctx):
    # The job id keys the copies: a re-run of this chunk finds them and creates no duplicates.
    return _run(
        operations.copy, ctx, target_folder_id=ctx.params.get("target_folder_id"), copy_key=str(ctx.job_id)
    )


def handle_rename(ctx):
    # {n} counts across the whole job, so each chunk starts at its offset in the job's id list.
    return _run(operations.rename, ctx, pattern=ctx.params.get("pattern"), offset=ctx.offset)


def file_kind(name, label, handler, success_message, *, queue="auto", **options):
    """Register a set-based database kind: FILE_CHUNK ids a chunk, small jobs on the interactive queue."""
    kind = JobKind(
        name, label, handler, queue=queue, chunk_size=FILE_CHUNK, success_message=success_message, **options
    )
    return register(kind)


TRASH = file_kind("trash", "Move to trash", handle_trash, "{done} of {total} moved to trash")
RESTORE = file_kind("restore", "Restore", handle_restore, "{done} of {total} restored")
DELETE = file_kind(
    "delete",
    "Delete permanently",
    handle_delete,
    "{done} of {total} deleted permanently",
    defer_seconds=5,  # the undo window: the job card offers Undo (cancel) before it starts
)
EMPTY_TRASH = file_kind(
    "empty_trash",
    "Empty trash",
    handle_empty_trash,
    "Trash emptied: {done} of {total} deleted",
    queue="bulk",
    defer_seconds=5,
)
MOVE = file_kind("move", "Move", handle_move, "{done} of {total} moved")
COPY = file_kind("copy", "Copy", handle_copy, "{done} of {total} copied")
RENAME = file_kind("rename", "Rename", handle_rename, "{done} of {total} renamed")
