"""Planning an archive when it is submitted: every entry's path, and chunks bounded in files and bytes.

The plan is made once, in the submit's transaction, so every chunk knows exactly what to write
whichever worker runs it, and however often: a part's local headers carry the entries' names, so
the names are final before any byte is written, and "photo (2).jpg" depends on every other name
in its directory, which no chunk sees on its own.

- Paths. A selection (ticked files, or all N of a folder with its filter) is flat: every entry
  at the archive's root. A folder with its subfolders keeps its tree under one top directory
  named after the folder ("Trips/2024/photo.jpg"; the whole library under "Library/"), with a
  directory entry for every folder, so empty ones unpack too.
- Names. Every name goes through naming.safe_display_name (a name written behind the naming
  rules' back is still safe: no "/", "..", control or bidi characters) and is made unique per
  directory, case-insensitively as Windows and macOS unpack it: "photo (2).jpg". A directory's
  subfolders claim their names before its files; the list of missing files gets a free name at
  the root ("MISSING.txt", or "MISSING (2).txt" beside a file of that name).
- Chunks. At most ARCHIVE_CHUNK_FILES files and, past a chunk's first file, ARCHIVE_CHUNK_BYTES
  of them, so a chunk of big photos is as bounded in time as one of small ones. Each chunk's
  plan is an ArchivePart row, written as the chunk closes; the job gets the same groups of ids,
  one chunk each (jobs.submit(chunked=True)), so chunk i writes part i.

Memory: the files stream from the database in directory order. What is held is the current
chunk's plan, the names taken in the directory being planned (for a flat selection of 100,000
files their 100,000 names, ~10 MB) and, for a tree, one path per folder.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import jobs
from media_library.actions.selection import Scope
from media_library.models import Archive, ArchivePart, Folder
from media_library.naming import CaseInsensitiveNames, safe_display_name

ROW_BATCH = 2000
MISSING_LIST = "MISSING.txt"
LIBRARY = "Library"
SELECTION = "selection"


def archive_name(base, today=None):
    """The download's name: the folder's (or "selection") and the date, e.g. "Trips 2025-05-01.zip"."""
    return safe_display_name(f"{base} {(today or timezone.localdate()).isoformat()}.zip")


class Planner:
    """Groups planned entries (file id or None for a directory, path, size) into chunks: writes each
    chunk's ArchivePart and yields its file ids for the job."""

    def __init__(self, archive, max_files, max_bytes):
        self.archive = archive
        self.max_files, self.max_bytes = max_files, max_bytes
        self.index = 0
        self.file_count = self.bytes_total = 0
        self._plan, self._ids, self._bytes = [], [], 0

    def chunks(self, entries):
        for file_id, path, size in entries:
            full = len(self._ids) >= self.max_files or self._bytes + size > self.max_bytes
            if file_id is not None and self._ids and full:
                yield self._close()
            self._plan.append([file_id, path, size])
            if file_id is not None:
                self._ids.append(file_id)
                self._bytes += size
                self.file_count += 1
                self.bytes_total += size
        if self._ids:
            yield self._close()

    def _close(self):
        ArchivePart.objects.create(archive=self.archive, index=self.index, plan=self._plan)
        ids = self._ids
        self.index += 1
        self._plan, self._ids, self._bytes = [], [], 0
        return ids


def flat_entries(files, root):
    """Every file at the archive's root, in the selection's order."""
    rows = files.values_list("id", "name", "size").iterator(chunk_size=ROW_BATCH)
    for file_id, name, size in rows:
        yield file_id, root.claim(safe_display_name(name)), size


def tree_entries(owner_id, folder, files, root):
    """The folder (None: the library) as a top directory, its subfolders' directories, then the
    files folder by folder, each under its folder's path."""
    top = root.claim(safe_display_name(folder.name if folder else LIBRARY, default="folder")) + "/"
    yield None, top, 0
    top_key = folder.pk if folder else None
    paths = {top_key: top}
    taken = {top_key: CaseInsensitiveNames()}  # folder id -> the names taken in its directory
    below = Folder.objects.filter(owner_id=owner_id)
    if folder is not None:
        below = below.filter(path__startswith=folder.path).exclude(pk=folder.pk)
    rows = below.order_by("depth", "name", "id").values_list("id", "parent_id", "name")
    for folder_id, parent_id, name in rows.iterator(chunk_size=ROW_BATCH):
        names = taken.setdefault(parent_id, CaseInsensitiveNames())
        paths[folder_id] = paths[parent_id] + names.claim(safe_display_name(name, default="folder")) + "/"
        yield None, paths[folder_id], 0
    current, names = object(), None
    rows = files.order_by("folder_id", "name", "id").values_list("id", "folder_id", "name", "size")
    for file_id, folder_id, name, size in rows.iterator(chunk_size=ROW_BATCH):
        if folder_id not in paths:
            folder_id = top_key  # a folder made after the tree was read: its files go to the top
        if folder_id != current:
            if current != top_key:
                taken.pop(current, None)  # done with that directory: its names are no longer needed
            current = folder_id
            names = taken.setdefault(folder_id, CaseInsensitiveNames())
        yield file_id, paths[folder_id] + names.claim(safe_display_name(name)), size


def submit_archive(action, owner, selection, files, params):
    """Plan the archive of `files` (the ids of `selection`, a Selection) and submit its job, in
    one transaction."""
    scope, folder = selection.scope, selection.folder
    base = folder.name if folder else (SELECTION if scope == Scope.IDS else LIBRARY)
    root = CaseInsensitiveNames()
    with transaction.atomic():
        archive = Archive.objects.create(owner=owner, name=archive_name(base))
        planner = Planner(archive, settings.ARCHIVE_CHUNK_FILES, settings.ARCHIVE_CHUNK_BYTES)
        if scope == Scope.TREE:
            entries = tree_entries(owner.pk, folder, files, root)
        else:
            entries = flat_entries(files, root)
        job = jobs.submit(action.kind, owner, planner.chunks(entries), params=params, chunked=True)
        Archive.objects.filter(pk=archive.pk).update(
            job=job,
            file_count=planner.file_count,
            bytes_total=planner.bytes_total,
            missing_name=root.claim(MISSING_LIST),
        )
    return job
