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
written through `open_for_writing` (on S3 the backend's writable file is a multipart upload) and
read back through `open_stored_sequence`.

On S3 (django-storages' S3Storage) this module also decides:

- **errors**: botocore's and s3transfer's exceptions are translated here and nowhere else (every
  call below and every handle handed out runs under `storage_errors`): "no such key" becomes
  FileNotFoundError, anything else (connection refused, timeouts, 5xx, throttling) becomes
  `StorageUnavailable`, a jobs TransientError, so a chunk is retried with back-off, a blob is
  never marked failed and a request answers 503 (media_library.unavailable);
- **costs**: renditions are written in one PUT each (no delete, no exists()), bytes are removed
  with DeleteObjects (up to 1,000 keys a request) and listed flat with ListObjectsV2, so the orphan
  sweep costs one request per 1,000 objects, not one per file;
- **downloads**: `presigned_url` gives a short-lived SigV4 URL with the response headers
  (Content-Type, Content-Disposition) signed in, so bytes never pass through the web process.
  Archives are not presigned (`archive_redirect_url` is None): a ZIP is always at least two
  objects (its parts, then the tail), which one URL cannot name, and composing them server-side
  would cost a multipart copy per download; the view streams them in order instead.

Local disk keeps its own equivalents (streaming responses, a sorted directory walk, one unlink a
file) behind the same functions.
"""

import os
import re
import tempfile
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from itertools import chain

from boto3.exceptions import RetriesExceededError, S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from s3transfer import exceptions as transfer

from jobs.registry import TransientError
from media_library.imaging import RENDITION_SIZES

BLOB_DIRECTORY = "blobs"
RENDITION_DIRECTORY = "thumbs"
STORED_DIRECTORIES = (BLOB_DIRECTORY, RENDITION_DIRECTORY)  # content-addressed (the orphan sweep's)
ARCHIVE_DIRECTORY = "archives"
# Bytes per read when streaming stored files: big enough that a read costs little per byte, small
# enough that a worker's memory stays flat however big the file or archive.
READ_BLOCK = 1024 * 1024
# DeleteObjects takes at most this many keys per request (the S3 API's limit).
DELETE_BATCH = 1000
LIST_PAGE = 1000  # keys per ListObjectsV2 page (S3's maximum)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# --- errors ---------------------------------------------------------------------------------


class StorageUnavailable(TransientError):
    """The storage could not answer (unreachable, timed out, refused with a server error).

    Not a verdict on the file: a job retries the chunk with back-off (a jobs TransientError), and
    a request answers 503 with Retry-After. Deliberately not an OSError, so that code catching
    OSError for a bad file never mistakes an outage for one.
    """


_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
# botocore's (connection refused or closed, timeouts, retries used up) and the transfer layers'
# (a download or upload that failed after its own retries).
_UNAVAILABLE = (
    BotoCoreError, RetriesExceededError, S3UploadFailedError,
    transfer.RetriesExceededError, transfer.S3UploadFailedError, transfer.S3DownloadFailedError,
)  # fmt: skip


@contextmanager
def storage_errors():
    """Translate the S3 client's exceptions: missing is FileNotFoundError, the rest StorageUnavailable."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _MISSING_CODES or status == 404:
            raise FileNotFoundError(str(error)) from error
        raise StorageUnavailable(f"the storage refused the request ({code or status})") from error
    except _UNAVAILABLE as error:
        raise StorageUnavailable(f"the storage is unreachable ({error.__class__.__name__})") from error


class _Guarded:
    """A stored file whose reads and writes go through `storage_errors` (S3File reads lazily: the
    GET happens on the first read, long after `open`). Everything else is the file's own."""

    def __init__(self, handle):
        self._handle = handle

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __iter__(self):
        return iter(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def read(self, *args):
        with storage_errors():
            return self._handle.read(*args)

    def write(self, data):
        with storage_errors():
            return self._handle.write(data)

    def seek(self, *args):
        with storage_errors():
            return self._handle.seek(*args)

    def close(self):
        with storage_errors():
            return self._handle.close()


def _open(name, mode="rb"):
    with storage_errors():
        return _Guarded(default_storage.open(name, mode))


def _s3():
    """The S3 storage, or None on any other backend (local disk)."""
    from storages.backends.s3 import S3Storage

    return default_storage if isinstance(default_storage, S3Storage) else None


def _key(storage, name):
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


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
    return _open(blob_name(sha256))


def open_rendition(sha256, size):
    """An open file of one rendition; FileNotFoundError while it has not been made."""
    return _open(rendition_name(sha256, size))


def save_rendition(sha256, size, data):
    """Write a rendition over whatever is there: one PUT on S3 (names are content-addressed and
    the backend overwrites), an atomic rename on local disk (FileSystemStorage would pick a new
    name rather than overwrite, and a reader never sees half a file)."""
    name = rendition_name(sha256, size)
    if _s3() is not None:
        with storage_errors():
            saved = default_storage.save(name, ContentFile(data))
            if saved != name:  # only if file_overwrite were off: keep the name we own
                default_storage.delete(saved)
        return
    path = default_storage.path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".rendition-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temporary, default_storage.file_permissions_mode or 0o644)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def delete_renditions(sha256):
    delete_stored_names([rendition_name(sha256, size) for size in RENDITION_SIZES])


def delete_blobs_files(shas):
    """Remove the bytes and renditions of many blobs (one DeleteObjects per 1,000 keys on S3); a
    missing file is not an error, so deleting twice is fine."""
    delete_stored_names(chain.from_iterable(stored_names(sha) for sha in shas))


def delete_stored_names(names):
    """Remove stored objects by name, missing ones included. On S3 in DeleteObjects batches of
    DELETE_BATCH keys (S3 answers "deleted" for a key that was not there); on local disk one
    unlink each. Returns how many names were asked for."""
    storage = _s3()
    count = 0
    if storage is None:
        for name in names:
            default_storage.delete(name)
            count += 1
        return count
    client = storage.connection.meta.client
    batch = []
    for name in chain(names, [None]):
        if name is not None:
            batch.append({"Key": _key(storage, name)})
        if batch and (name is None or len(batch) == DELETE_BATCH):
            with storage_errors():
                answer = client.delete_objects(
                    Bucket=storage.bucket_name, Delete={"Objects": batch, "Quiet": True}
                )
            if answer.get("Errors"):  # per-key refusals (e.g. throttled): the sweep retries them
                first = answer["Errors"][0]
                raise StorageUnavailable(
                    f"the storage kept {len(answer['Errors'])} objects ({first.get('Code')})"
                )
            count += len(batch)
            batch = []
    return count


def list_stored(directory):
    """Every stored object under `directory` as (name, modified time), in name order.

    S3: ListObjectsV2 over the prefix, flat (no delimiter), 1,000 keys a page: the modified time
    comes with each key, so nothing is asked per object. Local disk: a walk that sorts each
    directory, which is the same order because the fan-out directories are fixed-width.
    """
    storage = _s3()
    if storage is None:
        yield from _walk_sorted(default_storage.path(directory), directory)
        return
    prefix = _key(storage, directory).rstrip("/") + "/"
    strip = len(_key(storage, ""))
    paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
    pages = iter(
        paginator.paginate(
            Bucket=storage.bucket_name, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE}
        )
    )
    while True:
        with storage_errors():  # around the request only, not around what the caller does
            page = next(pages, None)
        if page is None:
            return
        for entry in page.get("Contents", ()):
            yield entry["Key"][strip:].lstrip("/"), entry["LastModified"]


def _walk_sorted(path, name):
    try:
        entries = sorted(os.scandir(path), key=lambda entry: entry.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith("."):  # a rendition being written (see save_rendition)
            continue
        child = f"{name}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_sorted(entry.path, child)
        else:
            yield child, datetime.fromtimestamp(entry.stat().st_mtime, tz=UTC)


def is_content_addressed(name):
    """True for a well-formed blob or rendition name (anything else is not the sweep's to judge)."""
    sha256 = sha256_of(name)
    if not _SHA256.match(sha256):
        return False
    if name.startswith(f"{RENDITION_DIRECTORY}/"):
        return name in stored_names(sha256)[1:]
    return name == blob_name(sha256)


def presigned_url(name, *, content_type, disposition):
    """A short-lived GET URL for a stored object with the response headers signed in, or None on
    local disk (the view streams the bytes). No request is sent: signing is local."""
    storage = _s3()
    if storage is None:
        return None
    parameters = {"ResponseContentType": content_type, "ResponseContentDisposition": disposition}
    return storage.url(name, parameters=parameters)


def presigned_lifetime():
    """How long a presigned URL stays valid, in seconds (0 on local disk)."""
    storage = _s3()
    return storage.querystring_expire if storage is not None else 0


def open_blob_blocks(sha256):
    """The blob's bytes as an iterator of blocks of at most READ_BLOCK (close it when done).

    The first block is read here, so missing bytes raise FileNotFoundError before anything is
    handed out (a storage may open lazily and only fail on the first read).
    """
    return _blocks_of(_open(blob_name(sha256)))


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
        return _open(name, "wb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return _open(name, "wb")


def stored_size(name):
    """The size of a stored object; FileNotFoundError when it is not there."""
    try:
        with storage_errors():
            return default_storage.size(name)
    except OSError as error:  # StorageUnavailable is not one: an outage is not "missing"
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
    head = _blocks_of(_open(pieces[0][0]), pieces[0][1], pieces[0][2])
    return _chain(head, pieces[1:])


def _chain(head, rest):
    blocks = head
    try:
        yield from blocks
        for name, offset, count in rest:
            blocks.close()
            blocks = _blocks_of(_open(name), offset, count)
            yield from blocks
    finally:
        blocks.close()


def archive_redirect_url(objects, download_name):
    """Where a client should fetch an archive from directly, or None to stream it through the view.

    Always None: an archive is its parts and its tail, at least two objects, so no single
    presigned URL names it (see the module docstring); the download view streams the objects in
    order, with Range, on local disk and on S3 alike.
    """
    return None


def delete_stored(name):
    """Remove one stored object (an archive attempt that lost); missing is fine."""
    with storage_errors():
        default_storage.delete(name)


def archive_job_ids():
    """The job ids that have a directory under archives/ (to find files no archive row owns)."""
    try:
        with storage_errors():
            directories, _files = default_storage.listdir(ARCHIVE_DIRECTORY)
    except FileNotFoundError:
        return []
    return directories


def delete_archive_files(job_id, keep=()):
    """Remove an archive job's stored files but those in `keep` (its parts, failed attempts, or
    everything). A missing file is not an error: deleting twice is fine."""
    directory = archive_directory(job_id)
    try:
        with storage_errors():
            _subdirectories, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return 0
    removed = delete_stored_names(
        name for name in (f"{directory}/{file_name}" for file_name in files) if name not in keep
    )
    if not keep:
        with suppress(OSError):
            default_storage.delete(directory)  # the empty directory, on local disk
    return removed
