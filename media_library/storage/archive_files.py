"""The stored files of ZIP downloads, per archive job: found, served, removed.

Archives are not presigned (`archive_redirect_url` is None): a ZIP is always at least two objects
(its parts, then the tail), which one URL cannot name, and composing them server-side would cost
a multipart copy per download; the view streams them in order instead (streams.open_stored_sequence).
"""

from contextlib import suppress

from django.core.files.storage import default_storage

from media_library.storage.errors import storage_errors
from media_library.storage.names import ARCHIVE_DIRECTORY, archive_directory
from media_library.storage.objects import delete_stored_names


def archive_redirect_url(objects, download_name):
    """Where a client should fetch an archive from directly, or None to stream it through the view.

    Always None: an archive is its parts and its tail, at least two objects, so no single
    presigned URL names it (see the module docstring); the download view streams the objects in
    order, with Range, on local disk and on S3 alike.
    """
    return None


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
