"""Where a blob's bytes live: Django's `default_storage`, at a name derived from the SHA-256.

Bytes are content-addressed, so writing is "put these bytes there unless they already are":
two uploads of the same bytes, even at the same moment, end with one stored copy. Going
through the storage API (never the file system directly) lets an S3-like backend plug in.
"""

import logging

from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)


def blob_storage_name(sha256):
    """The storage name of a blob's bytes (same as `Blob.storage_name`), fanned out by prefix."""
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def store_blob_bytes(sha256, content):
    """Write `content` (a django File, positioned anywhere) as the bytes of `sha256` if absent.

    Returns True when this call wrote the bytes. The caller has already hashed `content`; this
    streams it once more to the storage (for a file on disk the file system storage just moves
    it). If a concurrent writer won the race, the storage saved ours under another name: that
    copy is identical and is removed.
    """
    name = blob_storage_name(sha256)
    if default_storage.exists(name):
        return False
    content.seek(0)
    saved = default_storage.save(name, content)
    if saved != name:
        default_storage.delete(saved)
        return False
    return True


def open_blob_bytes(sha256):
    """An open file of the blob's bytes (the caller closes it, e.g. through FileResponse)."""
    return default_storage.open(blob_storage_name(sha256), "rb")


def delete_blob_bytes(sha256):
    """Remove a blob's bytes; a missing file is not an error (deletion is idempotent)."""
    name = blob_storage_name(sha256)
    try:
        default_storage.delete(name)
    except FileNotFoundError:
        logger.info("blob bytes %s already gone", name)
