"""Chunk handlers of the set-based file operations: thin adapters from the engine's ChunkContext to
the plain functions in `media_library.operations`.

The kinds themselves (name, label, queue, undo window) are declared by the bulk actions that run
them (media_library.actions). Database kinds run inside the engine's transaction (atomic), which
also records the chunk as done, so a redelivered chunk changes nothing twice; the operations are
idempotent on their own as well.

Ids no longer eligible when a chunk runs: if the end state already holds they count as done
(trash of a trashed file, restore of a live one, move into the current folder, delete of a gone
file); otherwise they are failures with a reason ("not found", "in the trash", "not in the trash").
A target folder that is gone or not the owner's fails the job permanently (no retry can fix it).
"""

from jobs.registry import ChunkContext, ChunkOutcome, PermanentError
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
