"""Every name Mediaflow gives a stored file, and every read and write of those files.

Everything goes through Django's `default_storage` (never the file system), so another backend
(object storage) plugs in here and nowhere else. One module per concern:

- `names`: every stored name (blobs, renditions, archive parts and tails); nothing else builds one;
- `errors`: S3's exceptions translated in one place (missing: FileNotFoundError; anything else:
  StorageUnavailable, a jobs TransientError), around every call and every handle handed out;
- `backend`: S3 or local disk, and presigned download URLs;
- `objects`: stored objects by name: listed flat, sized, written, deleted in batches;
- `streams`: stored files read in blocks, one or several as if they were one;
- `blobs`, `renditions`, `archive_files`: the three kinds of stored files.

Callers import the names below from `media_library.storage` (or call them as `storage.X`, which
the tests replace to inject failures); the modules are its implementation.
"""

from media_library.storage.archive_files import archive_job_ids, archive_redirect_url, delete_archive_files
from media_library.storage.backend import presigned_lifetime, presigned_url
from media_library.storage.blobs import (
    blob_bytes_exist,
    delete_blobs_files,
    open_blob_blocks,
    open_blob_bytes,
    prefetch_blob,
    store_blob_bytes,
)
from media_library.storage.errors import StorageUnavailable, storage_errors
from media_library.storage.names import (
    ARCHIVE_DIRECTORY,
    BLOB_DIRECTORY,
    RENDITION_DIRECTORY,
    STORED_DIRECTORIES,
    archive_directory,
    archive_part_name,
    archive_tail_name,
    blob_name,
    is_content_addressed,
    rendition_name,
    sha256_of,
    stored_names,
)
from media_library.storage.objects import (
    DELETE_BATCH,
    LIST_PAGE,
    delete_stored,
    delete_stored_names,
    list_stored,
    open_for_writing,
    stored_size,
)
from media_library.storage.renditions import delete_renditions, open_rendition, save_rendition
from media_library.storage.streams import READ_BLOCK, open_stored_sequence

__all__ = [
    "ARCHIVE_DIRECTORY",
    "BLOB_DIRECTORY",
    "DELETE_BATCH",
    "LIST_PAGE",
    "READ_BLOCK",
    "RENDITION_DIRECTORY",
    "STORED_DIRECTORIES",
    "StorageUnavailable",
    "archive_directory",
    "archive_job_ids",
    "archive_part_name",
    "archive_redirect_url",
    "archive_tail_name",
    "blob_bytes_exist",
    "blob_name",
    "delete_archive_files",
    "delete_blobs_files",
    "delete_renditions",
    "delete_stored",
    "delete_stored_names",
    "is_content_addressed",
    "list_stored",
    "open_blob_blocks",
    "open_blob_bytes",
    "open_for_writing",
    "open_rendition",
    "open_stored_sequence",
    "prefetch_blob",
    "presigned_lifetime",
    "presigned_url",
    "rendition_name",
    "save_rendition",
    "sha256_of",
    "storage_errors",
    "store_blob_bytes",
    "stored_names",
    "stored_size",
]
