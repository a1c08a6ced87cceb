"""Set-based operations on a batch of an owner's files: the work behind every bulk job.

Each operation is a plain function taking an owner id, a batch of file ids (one chunk, up to
~500) and its parameters, and returning an `OperationResult(done, failures)`. Every one of them:

- issues a bounded number of queries per batch whatever its size (no query per file);
- reads the batch by primary key and checks the owner on the fetched rows (another owner's id
  is reported as "not found", never touched or revealed) — filtering `owner = ? AND id IN (…)`
  lets SQLite pick the owner index and scan the owner's whole library once per chunk;
- is safe to run twice on the same batch: an id whose end state already holds counts as done
  (trash of a trashed file, restore of a live one, move into its current folder, delete of a
  file that no longer exists); an id that cannot reach the end state is a failure with a reason.
- sends every resulting name through `media_library.naming`, de-conflicted in its folder.

Run each call inside one transaction (the jobs engine does; so do the tests) so a batch is all
or nothing, and blob files are removed from storage only after that transaction commits.
"""

from media_library.operations.base import OperationError, OperationResult
from media_library.operations.delete import delete_permanently, empty_trash
from media_library.operations.move_copy import copy, move
from media_library.operations.rename import compile_pattern, rename, rename_file
from media_library.operations.trash import restore, trash

__all__ = [
    "OperationError",
    "OperationResult",
    "compile_pattern",
    "copy",
    "delete_permanently",
    "empty_trash",
    "move",
    "rename",
    "rename_file",
    "restore",
    "trash",
]
