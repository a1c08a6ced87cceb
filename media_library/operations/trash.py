"""Trash and restore: a trashed file leaves its folder but remembers it (id and folder names)."""

from collections import defaultdict

from django.db.models import F
from django.utils import timezone

from media_library.folders import (
    decode_trashed_path,
    encode_trashed_path,
    ensure_folder_path,
    names_by_folder,
)
from media_library.models import Folder, MediaFile
from media_library.naming import NameAllocator, live_file_names, lock_names
from media_library.operations.base import NOT_FOUND, OperationResult, fetch_owned, per_row
from media_library.sql import IdIn


def trash(owner_id, ids):
    """Move the owner's live files among `ids` to the trash. Already trashed ids count as done.

    Queries: 1 read + 2 for the origin folders' names + 2 UPDATEs (one for files in folders, one
    for files at the root), whatever the batch size.
    """
    rows, missing = fetch_owned(owner_id, ids, "folder_id")
    result = OperationResult(failures=[(pk, NOT_FOUND) for pk in missing])
    live = {pk: row for pk, row in rows.items() if not row["trashed"]}
    result.done = len(rows)
    if not live:
        return result
    origins = names_by_folder({row["folder_id"] for row in live.values() if row["folder_id"]})
    now = timezone.now()
    paths = {folder_id: encode_trashed_path(names) for folder_id, names in origins.items()}
    at_root = [pk for pk, row in live.items() if row["folder_id"] is None]
    in_folders = [pk for pk, row in live.items() if row["folder_id"] is not None]
    trashed = _trash_rows(in_folders, now, paths) + _trash_rows(at_root, now, at_root=True)
    if trashed < len(live):
        # A file changed folder between the read and the UPDATEs (possible under PostgreSQL's
        # READ COMMITTED): trash what is still live with the statement that fits any row.
        _trash_rows(list(live), now, paths)
    return result


def _trash_rows(ids, now, paths=None, *, at_root=False):
    """One UPDATE trashing the live rows among `ids`; returns how many it changed.

    `trashed_at IS NULL` again in the UPDATE: a concurrent trash of the same row stays a no-op.
    Rows at the root stay at folder NULL with nothing to remember: leaving the folder columns out
    of their SET spares the database rewriting every index that holds those columns.
    """
    if not ids:
        return 0
    rows = MediaFile.objects.live().filter(IdIn(ids))
    if at_root:
        return rows.filter(folder__isnull=True).update(trashed_at=now, updated=now)
    return rows.update(
        trashed_at=now,
        trashed_from=F("folder"),
        # one WHEN per origin folder (not per row); a root row keeps its empty path
        trashed_from_path=per_row(paths or {}, "trashed_from_path", key="folder_id"),
        folder=None,
        updated=now,
    )


def restore(owner_id, ids):
    """Put the owner's trashed files among `ids` back where they came from.

    Back to `trashed_from` if that folder still exists, else into the folder chain recreated from
    `trashed_from_path`, else the root; names are de-conflicted in the destination. Live ids count
    as done. Queries: 1 read + 1 folder check + a few per distinct destination folder (allocating
    names; recreating a deleted folder chain costs 2 a level) + 1 UPDATE.
    """
    rows, missing = fetch_owned(owner_id, ids, "name", "trashed_from_id", "trashed_from_path")
    result = OperationResult(failures=[(pk, NOT_FOUND) for pk in missing])
    result.done = len(rows)
    trashed = {pk: row for pk, row in rows.items() if row["trashed"]}
    if not trashed:
        return result
    origin_ids = {row["trashed_from_id"] for row in trashed.values() if row["trashed_from_id"]}
    existing = set(Folder.objects.filter(pk__in=origin_ids, owner_id=owner_id).values_list("pk", flat=True))
    recreated = {}  # trashed_from_path -> folder id, so each lost chain is recreated once
    by_destination = defaultdict(list)
    for pk, row in trashed.items():
        if row["trashed_from_id"] in existing:
            destination = row["trashed_from_id"]
        else:
            key = row["trashed_from_path"]
            if key not in recreated:
                folder = ensure_folder_path(owner_id, None, decode_trashed_path(key))
                recreated[key] = folder.pk if folder else None
            destination = recreated[key]
        by_destination[destination].append(pk)
    folders, names = {}, {}
    lock_names(owner_id, by_destination)
    for destination, pks in by_destination.items():
        allocated = NameAllocator(live_file_names(owner_id, destination)).allocate(
            [trashed[pk]["name"] for pk in pks]
        )
        for pk, name in zip(pks, allocated, strict=True):
            folders[pk] = destination
            if name != trashed[pk]["name"]:
                names[pk] = name
    # Restored names are free among the destination's live files and distinct within the batch,
    # so this single UPDATE never makes a transient duplicate under the partial unique indexes.
    MediaFile.objects.trashed().filter(IdIn(trashed)).update(
        folder=per_row(folders, "folder"),
        name=per_row(names, "name"),
        trashed_at=None,
        trashed_from=None,
        trashed_from_path="",
        updated=timezone.now(),
    )
    return result
