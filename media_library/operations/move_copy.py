"""Move files into a folder, or copy them there (new rows sharing the same blobs)."""

from django.db import connection
from django.utils import timezone

from media_library.models import MediaFile
from media_library.naming import NameAllocator, live_file_names, lock_names
from media_library.operations.base import (
    IN_TRASH,
    NOT_FOUND,
    OperationResult,
    fetch_owned,
    per_row,
    target_folder,
)
from media_library.sql import IdIn, ValuesIn


def move(owner_id, ids, target_folder_id):
    """Move the owner's live files among `ids` into `target_folder_id` (None = the root).

    Files already there count as done (moving twice is a no-op); trashed files are failures.
    Queries: 1 read + 1 target check + the name allocation (1-2) + 1 UPDATE.
    """
    target = target_folder(owner_id, target_folder_id)
    target_id = target.pk if target else None
    rows, missing = fetch_owned(owner_id, ids, "name", "folder_id")
    result = OperationResult(failures=[(pk, NOT_FOUND) for pk in missing])
    movers = []
    for pk, row in rows.items():
        if row["trashed"]:
            result.fail(pk, IN_TRASH)
        elif row["folder_id"] == target_id:
            result.done += 1
        else:
            movers.append(pk)
    if not movers:
        return result
    lock_names(owner_id, [target_id])
    allocator = NameAllocator(live_file_names(owner_id, target_id))
    allocated = allocator.allocate([rows[pk]["name"] for pk in movers])
    renamed = {pk: name for pk, name in zip(movers, allocated, strict=True) if name != rows[pk]["name"]}
    # The new names are free among the target's live files and distinct within the batch, so the
    # single UPDATE never makes a transient duplicate under the partial unique indexes.
    result.done += (
        MediaFile.objects.live()
        .filter(IdIn(movers))
        .update(folder=target, name=per_row(renamed, "name"), updated=timezone.now())
    )
    return result


def copy(owner_id, ids, target_folder_id, copy_key=None):
    """Copy the owner's live files among `ids` into `target_folder_id`: new rows, same blobs.

    With a `copy_key` (the job id) each source is copied at most once per key: a re-run of the
    same batch finds its earlier copies (and the unique (copy_key, copied_from) constraint backs
    that up) and creates nothing. Queries: 1 read + 1 target check + 1 for earlier copies + the
    name allocation + the INSERTs (a few for 500 rows on SQLite's parameter limit).
    """
    target = target_folder(owner_id, target_folder_id)
    target_id = target.pk if target else None
    rows, missing = fetch_owned(owner_id, ids, "name", "blob_id", "size")
    result = OperationResult(failures=[(pk, NOT_FOUND) for pk in missing])
    sources = []
    for pk, row in rows.items():
        if row["trashed"]:
            result.fail(pk, IN_TRASH)
        else:
            sources.append(pk)
    if copy_key and sources:
        earlier = set(
            # exclude(copy_key="") repeats the partial unique index's condition word for word:
            # SQLite uses a partial index only when the query states its WHERE term.
            MediaFile.objects.filter(ValuesIn("copied_from", sources), copy_key=copy_key)
            .exclude(copy_key="")
            .values_list("copied_from", flat=True)
        )
        result.done += len(earlier)
        sources = [pk for pk in sources if pk not in earlier]
    if not sources:
        return result
    lock_names(owner_id, [target_id])
    allocator = NameAllocator(live_file_names(owner_id, target_id))
    allocated = allocator.allocate([rows[pk]["name"] for pk in sources])
    insert_copies(
        owner_id, target_id, {pk: name for pk, name in zip(sources, allocated, strict=True)}, copy_key
    )
    result.done += len(sources)
    return result


def insert_copies(owner_id, target_id, names, copy_key):
    """INSERT … SELECT: one statement copies the batch's rows with their new names.

    Django's bulk_create would split 500 rows into 7 INSERTs on SQLite (it assumes the old
    999-parameter limit); the database copies the columns itself here, so only the names travel.
    """
    table = MediaFile._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())  # as the ORM would store it
    whens = " ".join(["WHEN %s THEN %s"] * len(names))
    name_params = [value for pk, name in names.items() for value in (pk, name)]
    placeholders = ", ".join(["%s"] * len(names))
    columns = (
        "owner_id, folder_id, name, blob_id, size, created, updated, trashed_at, trashed_from_id,"
        " trashed_from_path, copied_from, copy_key"
    )
    values = f"owner_id, %s, CASE id {whens} END, blob_id, size, %s, %s, NULL, NULL, '', id, %s"
    # Only the table name and "%s" placeholders are interpolated; every value is a parameter. The
    # sources were checked to be the owner's: filtering on the primary key alone keeps it the plan.
    sql = f"INSERT INTO {table} ({columns}) SELECT {values} FROM {table} WHERE id IN ({placeholders})"  # noqa: S608
    params = [target_id, *name_params, now, now, copy_key or "", *names]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
