"""Rows for library tests: blobs (optionally with real image bytes in storage) and files in bulk."""

import hashlib
import io
import itertools

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from media_library.models import Blob, MediaFile

_counter = itertools.count(1)


def make_blob(*, stored=False, color=None):
    """A Blob; with `stored`, a real PNG is written to default_storage under its storage name."""
    n = next(_counter)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), color or (n % 256, (n // 256) % 256, 7)).save(buffer, "PNG")
    data = buffer.getvalue()
    sha = hashlib.sha256(data + str(n).encode()).hexdigest()
    blob = Blob.objects.create(sha256=sha, size=len(data), format="PNG", width=4, height=3)
    if stored:
        default_storage.save(blob.storage_name, ContentFile(data))
    return blob


def make_files(owner, count=None, *, folder=None, names=None, blob=None, trashed=False):
    """Files for `owner` in `folder` created in one INSERT; `names` default to f{i:05}.jpg."""
    from django.utils import timezone

    blob = blob or make_blob()
    names = list(names) if names is not None else [f"f{i:05}.jpg" for i in range(count)]
    rows = [
        MediaFile(
            owner=owner,
            folder=None if trashed else folder,
            name=name,
            blob=blob,
            size=blob.size,
            trashed_at=timezone.now() if trashed else None,
            trashed_from=folder if trashed else None,
        )
        for name in names
    ]
    return MediaFile.objects.bulk_create(rows, batch_size=500)  # pks set (RETURNING)
