"""One chunk of an archive job: write its part (local headers + bytes + descriptors) to storage.

The chunk runs outside any transaction (atomic=False: seconds of I/O must not hold SQLite's write
lock). It streams each planned file from storage to a NEW part object, named by the job, the
chunk and a fresh token, so no other attempt ever writes into it, and returns the part's entries
with a `commit` that the engine runs in the transaction that records the chunk done: that is the
one moment the part becomes the chunk's. An attempt killed before it, a retry after a storage
error, or a duplicate delivery that loses the race leaves only an object nobody points at, which
the assembly and the expiry sweep delete.

A file deleted since the submit, or whose bytes are missing from storage, is a per-item failure
listed in MISSING.txt; the chunk goes on. Bytes shared by several files (copies, duplicate
uploads) are read once per entry that shows them.
"""

import secrets
from contextlib import closing

from django.db.models import F

from jobs.registry import ChunkContext, ChunkOutcome, PermanentError
from media_library import storage
from media_library.archives.zipformat import ArchiveFormatError, EntryWriter, dos_time
from media_library.models import Archive, ArchivePart, MediaFile
from media_library.sql import IdIn

DELETED = "the file was deleted before the archive was made"
NO_BYTES = "the file's bytes are missing from storage"


def _files_of(owner_id, ids):
    """{id: (sha256, size, created)} of the owner's files among `ids` (trashed ones too: the
    archive is of what was selected), in one query."""
    rows = MediaFile.objects.filter(IdIn(ids), owner_id=owner_id).values_list(
        "id", "blob__sha256", "blob__size", "created"
    )
    return {file_id: (sha, size, created) for file_id, sha, size, created in rows}


def _add_file(writer, path, found, upcoming):
    """Stream one planned file into the part: (Entry, "") or (None, why it is missing)."""
    if found is None:
        return None, DELETED
    if (following := next(upcoming, None)) is not None:
        storage.prefetch_blob(following)  # the disk reads the next file while this one is copied
    sha256, size, created = found
    try:
        blocks = storage.open_blob_blocks(sha256)
    except FileNotFoundError:
        return None, NO_BYTES
    with closing(blocks):
        try:
            return writer.add(path, dos_time(created), blocks, size_hint=size), ""
        except ArchiveFormatError as error:
            raise PermanentError(str(error)) from error


def build_part(ctx: ChunkContext) -> ChunkOutcome:
    part = ArchivePart.objects.select_related("archive").filter(
        archive__job_id=ctx.job_id, index=ctx.chunk_index
    )
    part = part.only("id", "plan", "archive__id", "archive__created").first()
    if part is None:
        raise PermanentError("the archive's plan is gone")
    planned_ids = [file_id for file_id, _path, _size in part.plan if file_id is not None]
    if planned_ids != list(ctx.ids):
        raise PermanentError("the archive's plan does not match the job's chunk")
    files = _files_of(ctx.owner_id, planned_ids)
    upcoming = iter([files[file_id][0] for file_id in planned_ids if file_id in files][1:])
    folder_time = dos_time(part.archive.created)
    name = storage.archive_part_name(ctx.job_id, ctx.chunk_index, secrets.token_hex(6))
    entries, missing, failures, processed = [], [], [], 0
    with storage.open_for_writing(name) as out:
        writer = EntryWriter(out)
        for file_id, path, planned_size in part.plan:
            if file_id is None:
                entries.append(writer.add_directory(path, folder_time))
                continue
            processed += planned_size
            entry, reason = _add_file(writer, path, files.get(file_id), upcoming)
            if entry is not None:
                entries.append(entry)
            else:
                failures.append((file_id, reason))
                missing.append([path, reason])
    part_size = writer.offset

    def commit():
        # In the engine's transaction that records this chunk: the part becomes the chunk's here.
        ArchivePart.objects.filter(pk=part.pk).update(
            object_name=name, size=part_size, entries=[entry.as_row() for entry in entries], missing=missing
        )
        Archive.objects.filter(pk=part.archive.pk).update(bytes_done=F("bytes_done") + processed)

    done = sum(1 for entry in entries if not entry.is_directory)
    return ChunkOutcome(done=done, failures=failures, commit=commit)
