"""Rows for page tests, made straight in the database (the pages only read them)."""

import hashlib
import itertools
import json

from django.utils import timezone

from media_library.models import Blob, Folder, MediaFile

_counter = itertools.count(1)


def make_blob(size=1234, width=640, height=480, fmt="JPEG"):
    n = next(_counter)
    return Blob.objects.create(
        sha256=hashlib.sha256(f"blob-{n}".encode()).hexdigest(),
        size=size,
        format=fmt,
        width=width,
        height=height,
    )


def make_folder(owner, name, parent=None):
    folder = Folder.objects.create(
        owner=owner, name=name, parent=parent, depth=(parent.depth + 1) if parent else 0
    )
    folder.path = f"{parent.path if parent else '/'}{folder.pk}/"
    folder.save(update_fields=["path"])
    return folder


def make_file(owner, name, folder=None, blob=None, size=None, trashed_from=None, trashed_at=None):
    blob = blob or make_blob()
    return MediaFile.objects.create(
        owner=owner, folder=folder, name=name, blob=blob, size=blob.size if size is None else size,
        trashed_at=trashed_at, trashed_from=trashed_from,
    )  # fmt: skip


def make_files(owner, count, folder=None, blob=None, prefix="img", batch_size=2000):
    """`count` rows sharing one blob, inserted in batches (no query per file)."""
    blob = blob or make_blob()
    rows = (
        MediaFile(
            owner=owner, folder=folder, name=f"{prefix}-{i:06d}.jpg", blob=blob, size=1000 + (i * 7919) % 5000
        )
        for i in range(count)
    )
    while batch := list(itertools.islice(rows, batch_size)):
        MediaFile.objects.bulk_create(batch)
    return blob


def trash(files, when=None):
    when = when or timezone.now()
    for f in files:
        f.trashed_from = f.folder
        f.trashed_from_path = json.dumps([f.folder.name]) if f.folder else ""  # media_library.folders' format
        f.folder = None
        f.trashed_at = when
        f.save()
