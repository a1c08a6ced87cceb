"""A blob's renditions (the WebP previews the thumbnails job makes): read, written over, deleted.

A rendition is written in one PUT on S3 (no delete, no exists()), atomically on local disk.
"""

import os
import tempfile
from contextlib import suppress

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from media_library.imaging import RENDITION_SIZES
from media_library.storage.backend import s3_storage
from media_library.storage.errors import open_guarded, storage_errors
from media_library.storage.names import rendition_name
from media_library.storage.objects import delete_stored_names


def open_rendition(sha256, size):
    """An open file of one rendition; FileNotFoundError while it has not been made."""
    return open_guarded(rendition_name(sha256, size))


def save_rendition(sha256, size, data):
    """Write a rendition over whatever is there: one PUT on S3 (names are content-addressed and
    the backend overwrites), an atomic rename on local disk (FileSystemStorage would pick a new
    name rather than overwrite, and a reader never sees half a file)."""
    name = rendition_name(sha256, size)
    if s3_storage() is not None:
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
