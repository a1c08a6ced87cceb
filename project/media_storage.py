"""Where media bytes live, from the environment: Django's `STORAGES["default"]`.

`MEDIA_STORAGE=local` (the default) keeps them on this host's disk under MEDIA_ROOT.
`MEDIA_STORAGE=s3` puts them in an S3-compatible bucket through django-storages, configured by
django-storages' own variable names, so that several hosts share the bytes without a shared disk.

Kept apart from settings.py so the test fixtures build the very configuration a host would run.
"""

from django.core.exceptions import ImproperlyConfigured

MEDIA_STORAGE_CHOICES = ("local", "s3")
MB = 1024 * 1024

# An object read from S3 is buffered in a SpooledTemporaryFile: in memory up to this size, on
# disk beyond it (django-storages' own default, 0, never spills: a whole object in RAM).
DEFAULT_S3_MAX_MEMORY_SIZE = 2 * MB
# Presigned URLs (downloads redirected to the bucket) stay valid this long: enough to start a
# download, short enough that a leaked link soon stops working.
DEFAULT_S3_QUERYSTRING_EXPIRE = 300
REQUIRED_S3_VARIABLES = ("AWS_STORAGE_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _positive_int(environ, name, default):
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be greater than 0 (got {value}).")
    return value


def s3_transfer_config():
    """Bounded memory per upload or download, whatever the object's size.

    Below the multipart threshold an upload is one PUT streamed from the file (~2 MB of memory
    for any size; S3 takes up to 5 GB in one PUT), and the upload limit is below it. Beyond it,
    boto3 reads each part into memory: 2 parts of 8 MB in flight instead of its default 10.
    A download queues at most 4 pieces of 256 KB before they reach the spooled file.
    """
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=64 * MB, multipart_chunksize=8 * MB, max_concurrency=2, max_io_queue=4
    )
    config.max_in_memory_upload_chunks = 2  # s3transfer's knob; boto3's constructor does not take it
    return config


def s3_client_config(environ):
    from botocore.config import Config

    return Config(
        signature_version="s3v4",  # SeaweedFS and current AWS regions accept SigV4 only for presigns
        s3={"addressing_style": "path"},  # bucket in the path: no wildcard DNS for the endpoint
        # botocore's newer default checksums (CRC32 trailers) are refused by some S3-compatible
        # servers; send and check checksums only where the API requires them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": _positive_int(environ, "AWS_MAX_ATTEMPTS", 5)},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=20,
    )


def s3_storage_options(environ):
    """django-storages' S3Storage options from AWS_* variables (their names are its own)."""
    missing = [name for name in REQUIRED_S3_VARIABLES if not environ.get(name)]
    if missing:
        raise ImproperlyConfigured(f"MEDIA_STORAGE=s3 needs {', '.join(missing)}.")
    return {
        "bucket_name": environ["AWS_STORAGE_BUCKET_NAME"],
        "endpoint_url": environ.get("AWS_S3_ENDPOINT_URL") or None,  # None: AWS itself
        "access_key": environ["AWS_ACCESS_KEY_ID"],
        "secret_key": environ["AWS_SECRET_ACCESS_KEY"],
        "region_name": environ.get("AWS_S3_REGION_NAME") or "us-east-1",
        "client_config": s3_client_config(environ),
        "transfer_config": s3_transfer_config(),
        "max_memory_size": _positive_int(environ, "AWS_S3_MAX_MEMORY_SIZE", DEFAULT_S3_MAX_MEMORY_SIZE),
        "querystring_auth": True,
        "querystring_expire": _positive_int(environ, "AWS_QUERYSTRING_EXPIRE", DEFAULT_S3_QUERYSTRING_EXPIRE),
        # No ACL header on writes: objects inherit the bucket's (private) policy, and servers
        # with ACLs disabled (SeaweedFS, AWS buckets with "owner enforced") may refuse one.
        "default_acl": None,
        # Names are content-addressed (blobs/<sha256>, thumbs/<sha256>-256.webp): the same name
        # always means the same bytes, so writing over it is harmless, and it spares the HEAD
        # request (plus a random-suffixed duplicate object) that "find a free name" would cost.
        "file_overwrite": True,
        "gzip": False,  # images do not compress
    }


def media_storage(environ):
    """The `STORAGES["default"]` entry selected by MEDIA_STORAGE.

    The local storage takes no `location`, so it follows MEDIA_ROOT (also when a test changes it).
    """
    kind = (environ.get("MEDIA_STORAGE") or "local").strip().lower()
    if kind not in MEDIA_STORAGE_CHOICES:
        choices = ", ".join(MEDIA_STORAGE_CHOICES)
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be one of {choices}, not {kind!r}.")
    if kind == "s3":
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options(environ)}
    return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
