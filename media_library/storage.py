"""Every name Mediaflow gives a stored file, and every read and write of those files.

Two kinds of stored files keyed by the SHA-256 of the original bytes, fanned out by its first two
byte pairs so no directory grows huge, and the ZIP downloads:

- a blob's bytes: `blobs/ab/cd/<sha256>`;
- its renditions (WebP previews made by the thumbnails job): `thumbs/ab/cd/<sha256>-<size>.webp`;
- an archive job's files, all under `archives/<job id>/`: the part each chunk writes,
  `part-<chunk:06>-<token>`, and the tail the assembly writes, `tail-<token>`; the ZIP is those
  objects one after another. The token is new for every attempt, so no two writers ever share an
  object; the database says which objects are the real ones (media_library.archives).

Nothing else builds these names. Everything goes through Django's `default_storage` (never the
file system), so another backend (object storage) plugs in here and nowhere else: archives are
written through `open_for_writing` (on S3 the backend's writable file is a multipart upload),
read back through `open_stored_sequence` and served through `archive_redirect_url` (on S3 a
presigned URL).
"""

import os
from contextlib import suppress

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from media_library.imaging import RENDITION_SIZES

BLOB_DIRECTORY = "blobs"
RENDITION_DIRECTORY = "thumbs"
STORED_DIRECTORIES = (BLOB_DIRECTORY, RENDITION_DIRECTORY)  # content-addressed (the orphan sweep's)
ARCHIVE_DIRECTORY = "archives"
# Bytes per read when streaming stored files: big enough that a read costs little per byte, small
# enough that a worker's memory stays flat however big the file or archive.
READ_BLOCK = 1024 * 1024


def _fanned_out(directory, sha256):
    return f"{directory}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def blob_name(sha256):
    """Where the bytes of the blob with this SHA-256 live."""
    return _fanned_out(BLOB_DIRECTORY, sha256)


def rendition_name(sha256, size):
    """Where the rendition of `size` px (one of RENDITION_SIZES) of that blob lives."""
    return f"{_fanned_out(RENDITION_DIRECTORY, sha256)}-{size}.webp"


def stored_names(sha256):
    """Every name a blob may occupy: its bytes and each rendition."""
    return [blob_name(sha256), *(rendition_name(sha256, size) for size in RENDITION_SIZES)]


def sha256_of(name):
    """The SHA-256 a stored name belongs to (the inverse of blob_name and rendition_name)."""
    base = name.rsplit("/", 1)[-1]
    return base.split("-", 1)[0] if name.startswith(f"{RENDITION_DIRECTORY}/") else base


def store_blob_bytes(sha256, content):
    """Write `content` (a django File, positioned anywhere) as the bytes of `sha256` if absent.

    Returns True when this call wrote the bytes. The caller has already hashed `content`; this
    streams it once more to the storage (for a file on disk the file system storage just moves
    it). If a concurrent writer won the race, the storage saved ours under another name: that
    copy is identical and is removed.
    """
    name = blob_name(sha256)
    if default_storage.exists(name):
        return False
    content.seek(0)
    saved = default_storage.save(name, content)
    if saved != name:
        default_storage.delete(saved)
        return False
    return True


def blob_bytes_exist(sha256):
    return default_storage.exists(blob_name(sha256))


def open_blob_bytes(sha256):
    """An open file of the blob's bytes (the caller closes it, e.g. through FileResponse)."""
    return default_storage.open(blob_name(sha256), "rb")


def open_rendition(sha256, size):
    """An open file of one rendition; FileNotFoundError while it has not been made."""
    return default_storage.open(rendition_name(sha256, size), "rb")


def save_rendition(sha256, size, data):
    """Write a rendition, replacing what is there (FileSystemStorage would otherwise pick a new name)."""
    name = rendition_name(sha256, size)
    default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # another worker wrote the same (identical) rendition in between: keep theirs
        default_storage.delete(saved)


def delete_renditions(sha256):
    for size in RENDITION_SIZES:
        default_storage.delete(rendition_name(sha256, size))


def delete_stored_files(sha256):
    """Remove a blob's bytes and renditions; a missing file is not an error (deleting twice is fine)."""
    for name in stored_names(sha256):
        default_storage.delete(name)


def open_blob_blocks(sha256):
    """The blob's bytes as an iterator of blocks of at most READ_BLOCK (close it when done).

    The first block is read here, so missing bytes raise FileNotFoundError before anything is
    handed out (a storage may open lazily and only fail on the first read).
    """
    return _blocks_of(default_storage.open(blob_name(sha256), "rb"))


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


def _blocks_of(handle, start=0, length=None):
    try:
        if start:
            handle.seek(start)
        remaining = length
        first = handle.read(READ_BLOCK if remaining is None else min(READ_BLOCK, remaining))
    except BaseException:
        handle.close()
        raise
    return _stream(handle, first, None if remaining is None else remaining - len(first))


def _stream(handle, block, remaining):
    with handle:
        while block:
            yield block
            if remaining is not None and remaining <= 0:
                return
            block = handle.read(READ_BLOCK if remaining is None else min(READ_BLOCK, remaining))
            if remaining is not None:
                remaining -= len(block)


# --- archives -------------------------------------------------------------------------------


def archive_directory(job_id):
    return f"{ARCHIVE_DIRECTORY}/{job_id}"


def archive_part_name(job_id, index, token):
    """Where one attempt of chunk `index` of an archive job writes its part."""
    return f"{archive_directory(job_id)}/part-{int(index):06d}-{token}"


def archive_tail_name(job_id, token):
    """Where one attempt of the assembly writes the archive's tail (MISSING.txt, the central
    directory, the end records), the object that follows the parts."""
    return f"{archive_directory(job_id)}/tail-{token}"


def open_for_writing(name):
    """A writable binary file at `name`, replacing what is there; close it to finish the object.

    On local disk the directories are made first; on a backend without paths (object storage)
    the backend's own writable file streams the bytes (a multipart upload on S3).
    """
    try:
        path = default_storage.path(name)
    except NotImplementedError:
        return default_storage.open(name, "wb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return default_storage.open(name, "wb")


def stored_size(name):
    """The size of a stored object; FileNotFoundError when it is not there."""
    try:
        return default_storage.size(name)
    except OSError as error:
        raise FileNotFoundError(name) from error


def open_stored_sequence(objects, start=0, length=None):
    """Blocks of `length` bytes (None: to the end) from `start` of the stored objects `objects`
    ([name, size] pairs) read one after another as if they were one file: how an archive's parts
    and tail are served. The first object is opened here (FileNotFoundError before any block)."""
    total = sum(size for _name, size in objects)
    length = total - start if length is None else min(length, total - start)
    pieces = []  # (name, offset in it, bytes to read)
    offset = 0
    for name, size in objects:
        first = max(start, offset)
        last = min(start + length, offset + size)
        if first < last:
            pieces.append((name, first - offset, last - first))
        offset += size
    if not pieces:
        return iter(())
    head = _blocks_of(default_storage.open(pieces[0][0], "rb"), pieces[0][1], pieces[0][2])
    return _chain(head, pieces[1:])


def _chain(head, rest):
    blocks = head
    try:
        yield from blocks
        for name, offset, count in rest:
            blocks.close()
            blocks = _blocks_of(default_storage.open(name, "rb"), offset, count)
            yield from blocks
    finally:
        blocks.close()


def archive_redirect_url(objects, download_name):
    """Where a client should fetch an archive from directly, or None to stream it through the view.

    Local disk: None; the download view streams the archive's objects in order (with Range). On
    object storage this is the one place to flip: the assembly composes the parts server-side into
    one object (S3 UploadPartCopy, no bytes through a worker) and this returns a short-lived
    presigned URL for it with the Content-Disposition, so no byte passes through the web process.
    """
    return None


def delete_stored(name):
    """Remove one stored object (an archive attempt that lost); missing is fine."""
    default_storage.delete(name)


def archive_job_ids():
    """The job ids that have a directory under archives/ (to find files no archive row owns)."""
    try:
        directories, _files = default_storage.listdir(ARCHIVE_DIRECTORY)
    except FileNotFoundError:
        return []
    return directories


def delete_archive_files(job_id, keep=()):
    """Remove an archive job's stored files but those in `keep` (its parts, failed attempts, or
    everything). A missing file is not an error: deleting twice is fine."""
    directory = archive_directory(job_id)
    try:
        _subdirectories, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return 0
    removed = 0
    for file_name in files:
        name = f"{directory}/{file_name}"
        if name not in keep:
            default_storage.delete(name)
            removed += 1
    if not keep:
        with suppress(OSError):
            default_storage.delete(directory)  # the empty directory, on local disk
    return removed
