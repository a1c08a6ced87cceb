"""Ingest: turn uploaded bytes into library files, one file at a time, never failing the others.

For each upload:
1. `inspect_upload` (no database): hash the bytes with SHA-256 while counting them, in chunks
   (an upload larger than FILE_UPLOAD_MAX_MEMORY_SIZE is already a temporary file on disk, so a
   10 MB file is never held in memory), apply MAX_UPLOAD_BYTES, then prove it is a whole image of
   an allowed format with Pillow, bounded in memory. Anything wrong raises `RejectedUpload` with
   a message for the user.
2. `store_inspected`: one `Blob` per SHA-256 (bytes written to storage only if absent, before
   the row, so a row never points at missing bytes), then a `MediaFile` with a safe name that is
   free in the target folder. Both steps survive a concurrent upload of the same bytes or name.
3. After a request's files are stored, one `thumbnails` job is submitted for the new ones.
"""

import hashlib
import logging
import warnings
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from PIL import Image, UnidentifiedImageError

import jobs
from media_library.folders import FolderPathResolver
from media_library.imaging import ALLOWED_FORMATS
from media_library.kinds.thumbnails import THUMBNAILS_KIND
from media_library.models import Blob, MediaFile
from media_library.naming import (
    NameAllocator,
    NoFreeName,
    insert_under_free_name,
    live_file_names,
    safe_display_name,
)
from media_library.storage import StorageUnavailable, store_blob_bytes

logger = logging.getLogger(__name__)

# Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; make it an error, once for the
# whole process (changing warning filters per call is not thread-safe).
warnings.simplefilter("error", Image.DecompressionBombWarning)


class RejectedUpload(Exception):
    """An upload that cannot become a library file; `str(exc)` is the message for the user."""


@dataclass(frozen=True)
class InspectedImage:
    sha256: str
    size: int
    format: str
    width: int
    height: int


@dataclass
class IngestedFile:
    file: MediaFile
    duplicate: bool  # the same owner already had these exact bytes
    index: int = 0  # position of the upload in the request


@dataclass(frozen=True)
class Rejection:
    index: int  # position of the upload in the request
    name: str  # the safe display name the file would have had
    error: str


@dataclass
class IngestOutcome:
    stored: list[IngestedFile] = field(default_factory=list)
    errors: list[Rejection] = field(default_factory=list)
    thumbnail_job_id: str | None = None
    # Set when the storage went down mid-request: this file and the ones after it were not
    # stored (nor rejected); the caller answers 503 so the client sends them again.
    unavailable: str = ""
    not_stored: list[int] = field(default_factory=list)


def _limit_text(max_bytes):
    mb = max_bytes / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{max_bytes} bytes"


def hash_upload(upload, max_bytes):
    """(sha256 hex, size) of an upload read in chunks; rejects empty and oversized files early."""
    if upload.size is not None and upload.size > max_bytes:
        raise RejectedUpload(f"The file is larger than the upload limit of {_limit_text(max_bytes)}.")
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    for chunk in upload.chunks():
        size += len(chunk)
        if size > max_bytes:
            raise RejectedUpload(f"The file is larger than the upload limit of {_limit_text(max_bytes)}.")
        digest.update(chunk)
    if size == 0:
        raise RejectedUpload("The file is empty.")
    return digest.hexdigest(), size


def _decode_bounded(image):
    """Decode enough of `image` to prove the file is whole, without a full-size bitmap where avoidable."""
    if image.format == "JPEG":
        # Decoding at 1/8 scale still walks the whole entropy-coded stream, so truncation shows,
        # with 1/64 of the memory.
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    elif image.format == "PNG":
        # Every chunk's CRC up to IEND: a cut or damaged file fails, and nothing is decompressed.
        image.verify()
    else:
        # GIF (first frame) and WebP: no reduced decode exists; the pixel limit bounds the memory.
        image.load()


def verify_image(fileobj):
    """(format, width, height) of a whole image of an allowed format, else RejectedUpload."""
    max_pixels = settings.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    fileobj.seek(0)
    try:
        with Image.open(fileobj, formats=ALLOWED_FORMATS) as image:
            fmt, (width, height) = image.format, image.size
            if width * height > max_pixels:
                raise Image.DecompressionBombError(f"{width}x{height}")
            _decode_bounded(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RejectedUpload(f"The image has too many pixels (the limit is {max_pixels:,} pixels).") from None
    except UnidentifiedImageError:
        raise RejectedUpload(
            "Not a supported image: only JPEG, PNG, WebP and GIF files are accepted."
        ) from None
    except Exception as exc:  # Pillow reports damage as OSError, SyntaxError, ValueError, struct.error…
        logger.info("rejected a damaged image: %r", exc)
        raise RejectedUpload("The image is truncated or corrupt.") from None
    return fmt, width, height


def inspect_upload(upload, max_bytes=None):
    """Hash, size-check and verify an upload (a django File); raises RejectedUpload."""
    max_bytes = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    sha256, size = hash_upload(upload, max_bytes)
    fmt, width, height = verify_image(upload)
    return InspectedImage(sha256=sha256, size=size, format=fmt, width=width, height=height)


def blob_for(inspected, content):
    """The one Blob for these bytes, storing them if they are not stored yet. (blob, existed)."""
    blob = Blob.objects.filter(sha256=inspected.sha256).first()
    # Also for a known blob: put the bytes back if they went missing from storage.
    store_blob_bytes(inspected.sha256, content)
    if blob is not None:
        return blob, True
    return insert_blob(inspected)


def insert_blob(inspected):
    """Insert the Blob row; if a concurrent upload of the same bytes won, share theirs."""
    try:
        with transaction.atomic():
            blob = Blob.objects.create(
                sha256=inspected.sha256,
                size=inspected.size,
                format=inspected.format,
                width=inspected.width,
                height=inspected.height,
            )
        return blob, False
    except IntegrityError:
        return Blob.objects.get(sha256=inspected.sha256), True


class NamePlanner:
    """One NameAllocator per target folder for a batch, rebuilt if the database disagrees."""

    def __init__(self, owner):
        self.owner = owner
        self._allocators = {}

    def next_name(self, folder_id, wanted):
        if folder_id not in self._allocators:
            self._allocators[folder_id] = NameAllocator(live_file_names(self.owner.pk, folder_id))
        return self._allocators[folder_id].allocate([wanted])[0]

    def forget(self, folder_id):
        self._allocators.pop(folder_id, None)


def store_inspected(owner, folder, name, content, inspected, planner=None):
    """Create the owner's MediaFile for inspected bytes in `folder` (None = root), named `name`."""
    planner = planner or NamePlanner(owner)
    blob, existed = blob_for(inspected, content)
    duplicate = existed and MediaFile.objects.filter(owner=owner, blob=blob).exists()
    folder_id = folder.pk if folder else None

    def insert():
        final_name = planner.next_name(folder_id, name)
        return MediaFile.objects.create(
            owner=owner, folder=folder, name=final_name, blob=blob, size=blob.size
        )

    try:
        # A concurrent request that took the name makes the planner reload the folder's names.
        media_file = insert_under_free_name(insert, on_conflict=lambda: planner.forget(folder_id))
    except NoFreeName:
        raise RejectedUpload("Could not find a free name for the file; please try again.") from None
    return IngestedFile(file=media_file, duplicate=duplicate)


def ingest_uploads(owner, uploads, folder=None, relative_paths=None, thumbnails=True):
    """Store each upload (django Files) for `owner` under `folder`; one bad file fails alone.

    `relative_paths`, when given, has one entry per upload ("" for none): the path the file had
    in an uploaded folder, whose directories are recreated under `folder`.
    """
    outcome = IngestOutcome()
    folders = FolderPathResolver(owner)
    planner = NamePlanner(owner)
    relative_paths = relative_paths or [""] * len(uploads)
    for index, (upload, relative_path) in enumerate(zip(uploads, relative_paths, strict=True)):
        name = safe_display_name(upload.name)
        try:
            inspected = inspect_upload(upload)
            try:
                target = folders.resolve(folder, relative_path)
            except ValueError as exc:
                raise RejectedUpload(str(exc)) from None
            stored = store_inspected(owner, target, name, upload, inspected, planner)
            stored.index = index
            outcome.stored.append(stored)
        except RejectedUpload as exc:
            outcome.errors.append(Rejection(index, name, str(exc)))
        except StorageUnavailable as exc:
            # Not this file's fault, and the next ones would hit it too: stop, keep what is stored.
            logger.warning(
                "storage unavailable during an upload, %d files not stored: %s", len(uploads) - index, exc
            )
            outcome.unavailable = str(exc)
            outcome.not_stored = list(range(index, len(uploads)))
            break
        except OSError:
            # The storage failed (disk full, bucket unreachable): this file is lost, not the rest.
            logger.exception("could not store upload %r", name)
            outcome.errors.append(Rejection(index, name, "The file could not be stored; please try again."))
    if thumbnails:
        outcome.thumbnail_job_id = request_thumbnails(owner, needing_thumbnails(outcome.stored))
    return outcome


def needing_thumbnails(stored):
    """The ids of the stored files that a thumbnails job covers, decided by the uploader's view only.

    Bytes new to this owner always get the job, even when another user's upload already made
    their thumbnails (the job then finds nothing to do): answering without a job would tell any
    user that someone holds these bytes. A duplicate of the owner's own file needs one only while
    its thumbnails are still pending.
    """
    return [
        item.file.pk
        for item in stored
        if not item.duplicate or item.file.blob.thumbnail_status == Blob.Thumbnail.PENDING
    ]


def request_thumbnails(owner, file_ids):
    """Submit one `thumbnails` job over `file_ids`; returns its id, or None when there is nothing to do."""
    if not file_ids:
        return None
    try:
        job = jobs.submit(THUMBNAILS_KIND, owner, list(file_ids))
    except Exception:
        # The files are stored: a failure to queue their thumbnails (broker down) must not turn
        # the upload into an error the client would retry. Pages show placeholders meanwhile,
        # and a thumbnails job can be submitted again for these files.
        logger.exception("could not submit a thumbnails job for %d files", len(file_ids))
        return None
    return str(job.pk)
