"""Permanent deletion: rows go in the transaction, unreferenced bytes after it commits."""

import logging
from functools import partial

from django.db import transaction
from django.db.models import Exists, OuterRef

from media_library.models import Blob, MediaFile
from media_library.operations.base import NOT_IN_TRASH, OperationResult, fetch_owned
from media_library.sql import IdIn, ValuesIn
from media_library.storage import StorageUnavailable, delete_blobs_files

logger = logging.getLogger(__name__)


def delete_permanently(owner_id, ids):
    """Delete the owner's trashed files among `ids` for good; live files are refused.

    Ids that no longer exist count as done (deleting twice is a no-op). Blobs no row references
    any more are deleted in the same transaction, and their bytes and thumbnails are removed from
    storage once it commits. Queries: 1 read + 1 DELETE + 3 for the blobs, whatever the size.
    """
    rows, missing = fetch_owned(owner_id, ids, "blob_id")
    result = OperationResult(done=len(missing))  # gone already: the end state holds
    trashed = {pk: row for pk, row in rows.items() if row["trashed"]}
    result.failures = [(pk, NOT_IN_TRASH) for pk in rows if pk not in trashed]
    if not trashed:
        return result
    MediaFile.objects.trashed().filter(IdIn(trashed)).delete()
    result.done += len(trashed)
    delete_orphan_blobs({row["blob_id"] for row in trashed.values()})
    return result


def empty_trash(owner_id, ids):
    """The trash page's "Empty trash", one batch of the owner's trashed ids at a time."""
    return delete_permanently(owner_id, ids)


def delete_orphan_blobs(blob_ids):
    """Delete the Blob rows among `blob_ids` that no file references; their bytes go on commit."""
    orphans = Blob.objects.filter(IdIn(blob_ids)).filter(
        ~Exists(MediaFile.objects.filter(blob_id=OuterRef("pk")))
    )
    found = dict(orphans.values_list("pk", "sha256"))
    if not found:
        return []
    # Delete only rows still unreferenced at this moment (same condition in the DELETE itself).
    Blob.objects.filter(IdIn(found)).filter(
        ~Exists(MediaFile.objects.filter(blob_id=OuterRef("pk")))
    ).delete()
    shas = sorted(found.values())
    transaction.on_commit(partial(remove_blob_files, shas))
    return shas


def remove_blob_files(shas):
    """Remove the bytes and thumbnails of deleted blobs, unless an upload has re-created the blob
    since (a new Blob row with the same SHA-256 owns those bytes now).

    One storage call for all of them (on S3, one DeleteObjects per 1,000 keys). The rows are gone
    already, so during a storage outage the bytes stay behind as orphans: the orphan sweep removes
    them later, and the deletion itself has succeeded."""
    reused = set(Blob.objects.filter(ValuesIn("sha256", shas)).values_list("sha256", flat=True))
    try:
        delete_blobs_files([sha for sha in shas if sha not in reused])
    except StorageUnavailable as exc:
        logger.warning("left %d deleted blobs' files to the orphan sweep: %s", len(shas), exc)
