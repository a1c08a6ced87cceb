"""Stored bytes that no row references, and rows whose bytes are gone.

Bytes are written before the row that points at them is committed, so a crash in between leaves
an orphan file. The sweep deletes such files once they are older than a grace period (an upload
still in flight is never touched). A Blob whose bytes are missing is never silently dropped: it
is reported, for an operator to restore from backup or delete.

One pass, a merge join: the stored names come in name order (on S3 one flat ListObjectsV2 page
per 1,000 keys; on local disk a sorted walk), which is SHA-256 order because the fan-out
directories are the hash's first characters; the Blob rows come in SHA-256 order too, a keyset
page of BATCH at a time. Memory stays at a page of each, whatever the bucket's size, and no
request is made per file (the listing carries each object's modified time). Orphans are deleted
in batches (DeleteObjects on S3).
"""

import logging
from datetime import timedelta

from django.utils import timezone

from media_library.models import Blob
from media_library.storage import (
    BLOB_DIRECTORY,
    DELETE_BATCH,
    RENDITION_DIRECTORY,
    delete_stored_names,
    is_content_addressed,
    list_stored,
    sha256_of,
)

logger = logging.getLogger(__name__)

ORPHAN_GRACE = timedelta(hours=1)
BATCH = 1000
REPORTED_MISSING = 1000  # SHA-256s listed in the report (all are counted): the report stays small


def blob_shas_in_order(batch=BATCH):
    """Every Blob's SHA-256, ascending, read a keyset page at a time (the unique index serves it)."""
    last = ""
    while True:
        page = list(
            Blob.objects.filter(sha256__gt=last).order_by("sha256").values_list("sha256", flat=True)[:batch]
        )
        yield from page
        if len(page) < batch:
            return
        last = page[-1]


def merge_join(stored, shas):
    """Walk stored (name, modified) pairs and known SHA-256s, both ascending, together.

    Yields ("orphan", name, modified) for a stored name no SHA-256 owns and ("missing", sha) for a
    SHA-256 with no stored name; names that are not content-addressed are skipped (not ours to
    judge, and their order says nothing about hashes)."""
    shas = iter(shas)
    current, seen = next(shas, None), False  # seen: some stored name belongs to `current`
    for name, modified in stored:
        if not is_content_addressed(name):
            logger.warning("orphan sweep: skipping %s, not a blob or rendition name", name)
            continue
        sha = sha256_of(name)
        while current is not None and current < sha:
            if not seen:
                yield ("missing", current)
            current, seen = next(shas, None), False
        if current == sha:
            seen = True  # a blob's renditions share its SHA-256: stay on it
        else:
            yield ("orphan", name, modified)
    while current is not None:
        if not seen:
            yield ("missing", current)
        current, seen = next(shas, None), False


def sweep_directory(directory, now, grace):
    """Sweep one content-addressed directory; returns (removed, kept young, missing count, the
    first REPORTED_MISSING missing SHA-256s)."""
    removed, kept_young, missing_count, missing, doomed = 0, 0, 0, [], []
    for found in merge_join(list_stored(directory), blob_shas_in_order()):
        if found[0] == "missing":
            missing_count += 1
            if len(missing) < REPORTED_MISSING:
                missing.append(found[1])
            continue
        _kind, name, modified = found
        if now - modified < grace:
            kept_young += 1
            continue
        doomed.append(name)
        logger.info("removing orphan stored file %s", name)
        if len(doomed) >= DELETE_BATCH:
            removed += delete_stored_names(doomed)
            doomed = []
    removed += delete_stored_names(doomed)
    return removed, kept_young, missing_count, missing


def sweep(now=None, grace=ORPHAN_GRACE):
    """Delete orphan blobs and renditions; report blobs whose bytes are missing."""
    now = now or timezone.now()
    removed, kept_young, missing_count, missing = sweep_directory(BLOB_DIRECTORY, now, grace)
    # Renditions: a blob without them is normal (pending or failed), so only orphans count.
    removed_renditions, kept_renditions, _, _ = sweep_directory(RENDITION_DIRECTORY, now, grace)
    report = {
        "removed": removed + removed_renditions,
        "kept_in_grace": kept_young + kept_renditions,
        "missing_count": missing_count,
        "missing_bytes": missing,
    }
    if missing:
        logger.error("%s blobs have no stored bytes: %s", missing_count, missing[:20])
    return report
