"""Stored bytes that no row references, and rows whose bytes are gone.

Bytes are written before the row that points at them is committed, so a crash in between leaves
an orphan file. The sweep deletes such files once they are older than a grace period (an upload
still in flight is never touched). A Blob whose bytes are missing is never silently dropped: it
is reported, for an operator to restore from backup or delete.
"""

import logging
from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from media_library.models import Blob
from media_library.storage import STORED_DIRECTORIES, blob_bytes_exist, sha256_of

logger = logging.getLogger(__name__)

ORPHAN_GRACE = timedelta(hours=1)
BATCH = 1000


def _walk(directory):
    """Yield every file name under `directory` in default_storage (fanned out in 2 levels)."""
    try:
        subdirs, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{directory}/{name}"
    for sub in subdirs:
        yield from _walk(f"{directory}/{sub}")


def _batches(iterable, size=BATCH):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def sweep_orphan_files(now=None, grace=ORPHAN_GRACE):
    """Delete stored blobs and thumbnails whose SHA-256 no Blob row has. Returns counts."""
    now = now or timezone.now()
    removed, kept_young = 0, 0
    for directory in STORED_DIRECTORIES:
        for batch in _batches(_walk(directory)):
            shas = {sha256_of(name) for name in batch}
            known = set(Blob.objects.filter(sha256__in=shas).values_list("sha256", flat=True))
            for name in batch:
                if sha256_of(name) in known:
                    continue
                if now - default_storage.get_modified_time(name) < grace:
                    kept_young += 1
                    continue
                default_storage.delete(name)
                removed += 1
                logger.info("removed orphan stored file %s", name)
    return {"removed": removed, "kept_in_grace": kept_young}


def missing_blob_bytes():
    """Blobs whose bytes are not in storage (checked in id order, a batch at a time)."""
    missing = []
    last_id = 0
    while True:
        rows = list(Blob.objects.filter(id__gt=last_id).order_by("id").values_list("id", "sha256")[:BATCH])
        if not rows:
            return missing
        for _blob_id, sha in rows:
            if not blob_bytes_exist(sha):
                missing.append(sha)
        last_id = rows[-1][0]


def sweep():
    report = sweep_orphan_files()
    report["missing_bytes"] = missing_blob_bytes()
    if report["missing_bytes"]:
        logger.error(
            "%s blobs have no stored bytes: %s", len(report["missing_bytes"]), report["missing_bytes"][:20]
        )
    return report
