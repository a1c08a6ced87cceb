"""S3 errors, translated here and nowhere else.

Every call of this package and every handle it hands out runs under `storage_errors`: botocore's
and s3transfer's "no such key" becomes FileNotFoundError, anything else (connection refused,
timeouts, 5xx, throttling) becomes `StorageUnavailable`, a jobs TransientError, so a chunk is
retried with back-off, a blob is never marked failed and a request answers 503
(media_library.unavailable).
"""

from contextlib import contextmanager

from boto3.exceptions import RetriesExceededError, S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import default_storage
from s3transfer import exceptions as transfer

from jobs.registry import TransientError


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


class Guarded:
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


def open_guarded(name, mode="rb"):
    with storage_errors():
        return Guarded(default_storage.open(name, mode))
