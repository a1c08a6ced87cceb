"""Which backend holds the bytes (S3 or local disk), and presigned downloads.

On S3 (django-storages' S3Storage) `presigned_url` gives a short-lived SigV4 URL with the
response headers (Content-Type, Content-Disposition) signed in, so bytes never pass through the
web process; local disk has no such URL and the views stream the bytes.
"""

from django.core.files.storage import default_storage


def s3_storage():
    """The S3 storage, or None on any other backend (local disk)."""
    from storages.backends.s3 import S3Storage

    return default_storage if isinstance(default_storage, S3Storage) else None


def s3_key(storage, name):
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def presigned_url(name, *, content_type, disposition):
    """A short-lived GET URL for a stored object with the response headers signed in, or None on
    local disk (the view streams the bytes). No request is sent: signing is local."""
    storage = s3_storage()
    if storage is None:
        return None
    parameters = {"ResponseContentType": content_type, "ResponseContentDisposition": disposition}
    return storage.url(name, parameters=parameters)


def presigned_lifetime():
    """How long a presigned URL stays valid, in seconds (0 on local disk)."""
    storage = s3_storage()
    return storage.querystring_expire if storage is not None else 0
