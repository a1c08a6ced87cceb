"""Every name Mediaflow gives a stored file, and every read and write of those files.

Two kinds of stored files, both keyed by the SHA-256 of the original bytes and fanned out by its
first two byte pairs so no directory grows huge:

- a blob's bytes: `blobs/ab/cd/<sha256>`;
- its renditions (WebP previews made by the thumbnails job): `thumbs/ab/cd/<sha256>-<size>.webp`.

Nothing else builds these names. Everything goes through Django's `default_storage` (never the
file system), so another backend (object storage) plugs in here and nowhere else.
"""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from media_library.imaging import RENDITION_SIZES

BLOB_DIRECTORY = "blobs"
RENDITION_DIRECTORY = "thumbs"
STORED_DIRECTORIES = (BLOB_DIRECTORY, RENDITION_DIRECTORY)


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
