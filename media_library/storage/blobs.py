"""A blob's bytes: stored once per SHA-256, read whole or in blocks, deleted with their renditions."""

import os
from itertools import chain

from django.core.files.storage import default_storage

from media_library.storage.errors import open_guarded, storage_errors
from media_library.storage.names import blob_name, stored_names
from media_library.storage.objects import delete_stored_names
from media_library.storage.streams import blocks_of


def store_blob_bytes(sha256, content):
    """Write `content` (a django File, positioned anywhere) as the bytes of `sha256` if absent.

    Returns True when this call wrote the bytes. The caller has already hashed `content`; this
    streams it once more to the storage (for a file on disk the file system storage just moves
    it). If a concurrent writer won the race, the storage saved ours under another name: that
    copy is identical and is removed.
    """
    name = blob_name(sha256)
    with storage_errors():
        if default_storage.exists(name):
            return False
        content.seek(0)
        saved = default_storage.save(name, content)
        if saved != name:
            default_storage.delete(saved)
            return False
    return True


def blob_bytes_exist(sha256):
    with storage_errors():
        return default_storage.exists(blob_name(sha256))


def open_blob_bytes(sha256):
    """An open file of the blob's bytes (the caller closes it, e.g. through FileResponse)."""
    return open_guarded(blob_name(sha256))


def open_blob_blocks(sha256):
    """The blob's bytes as an iterator of blocks of at most READ_BLOCK (close it when done).

    The first block is read here, so missing bytes raise FileNotFoundError before anything is
    handed out (a storage may open lazily and only fail on the first read).
    """
    return blocks_of(open_guarded(blob_name(sha256)))


def prefetch_blob(sha256):
    """Ask local disk to start reading a blob's bytes now (the archive job asks for the next file
    while it copies this one, so disk reads overlap the CRC and the writes). A hint only: nothing
    on a storage without local paths, and nothing when the file is missing."""
    try:
        path = default_storage.path(blob_name(sha256))
    except NotImplementedError:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(fd)


def delete_blobs_files(shas):
    """Remove the bytes and renditions of many blobs (one DeleteObjects per 1,000 keys on S3); a
    missing file is not an error, so deleting twice is fine."""
    delete_stored_names(chain.from_iterable(stored_names(sha) for sha in shas))
