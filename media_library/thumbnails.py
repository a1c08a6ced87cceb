"""A blob's derived files: a 1024 px WebP preview and a 256 px WebP thumbnail.

They are stored by the blob's SHA-256 (names in media_library.storage), so a copy or a duplicate
upload of the same bytes shares them and costs no new work. `Blob.thumbnail_status` records the
outcome: `ready`, or `failed` with a reason in `thumbnail_error` (the file itself stays usable and
the pages show a placeholder for it).
"""

import logging

from django.conf import settings
from django.http import FileResponse, HttpResponseRedirect
from django.templatetags.static import static

from media_library import storage
from media_library.imaging import RENDITION_SIZES, THUMBNAIL_SIZE, ImageRejected, render_renditions
from media_library.models import Blob

logger = logging.getLogger(__name__)

PENDING_PLACEHOLDER = "img/thumbnail-pending.svg"
FAILED_PLACEHOLDER = "img/thumbnail-failed.svg"
_ERROR_LENGTH = Blob._meta.get_field("thumbnail_error").max_length


def placeholder_url(blob: Blob) -> str:
    """The static image to show while a blob has no thumbnail (still pending, or failed)."""
    failed = blob.thumbnail_status == Blob.Thumbnail.FAILED
    return static(FAILED_PLACEHOLDER if failed else PENDING_PLACEHOLDER)


def thumbnail_response(blob: Blob, size: int = THUMBNAIL_SIZE):
    """Serve a blob's rendition, or redirect to its placeholder. The caller checks ownership first.

    Renditions are content-addressed, so browsers may keep them; `private` keeps shared caches out.
    """
    if size not in RENDITION_SIZES:
        raise ValueError(f"no rendition of size {size}")
    if blob.thumbnail_status == Blob.Thumbnail.READY:
        # Object storage: the browser fetches the rendition from the bucket (nothing is asked of
        # the bucket here; signing is local). Local disk: streamed as before.
        url = storage.presigned_url(
            storage.rendition_name(blob.sha256, size), content_type="image/webp", disposition="inline"
        )
        if url:
            return presigned_redirect(url)
        try:
            handle = storage.open_rendition(blob.sha256, size)
        except FileNotFoundError:
            logger.warning("blob %s is marked ready but its %s px rendition is missing", blob.pk, size)
        else:
            response = FileResponse(handle, content_type="image/webp")
            response["Cache-Control"] = "private, max-age=86400"
            response["X-Content-Type-Options"] = "nosniff"
            return response
    return HttpResponseRedirect(placeholder_url(blob))


def presigned_redirect(url):
    """A 302 to a presigned URL, which the browser may reuse for half the URL's lifetime."""
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = f"private, max-age={storage.presigned_lifetime() // 2}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def make_renditions(blob: Blob) -> str:
    """Render and store the blob's renditions. Returns "" on success, else the reason it failed.

    Bad images are an outcome, not an exception (whatever the decoder raises); storage errors (an
    outage while reading or writing) do raise, so the job engine retries the chunk.
    """
    try:
        with storage.open_blob_bytes(blob.sha256) as source:
            renditions = render_renditions(source, RENDITION_SIZES, max_pixels=settings.MAX_IMAGE_PIXELS)
    except FileNotFoundError:
        return "the original bytes are missing from storage"
    except storage.StorageUnavailable:
        raise  # an outage is no verdict on the image: the job retries the chunk
    except ImageRejected as exc:
        return str(exc)
    except MemoryError:
        return "not enough memory to decode this image"
    except Exception as exc:  # a decoder bug on one odd file must not fail the other files of the chunk
        logger.exception("unexpected error rendering blob %s", blob.pk)
        return f"the image could not be read ({type(exc).__name__})"
    for rendition in renditions:
        storage.save_rendition(blob.sha256, rendition.size, rendition.data)
    return ""


def ensure_thumbnails(blobs, *, force: bool = False) -> dict[int, str]:
    """Give each blob its renditions, skipping blobs already `ready` unless `force` (regenerate).

    Safe to run twice and from several workers at once: renditions are deterministic and named by
    content. Statuses are written with one UPDATE for the successes and one for the failures (no
    transaction is held while images are decoded). Returns {blob id: reason} for the failures.
    """
    ready_ids, failed = [], []
    for blob in blobs:
        if blob.thumbnail_status == Blob.Thumbnail.READY and not force:
            continue
        error = make_renditions(blob)
        if error:
            logger.info("thumbnail of blob %s failed: %s", blob.pk, error)
            storage.delete_renditions(blob.sha256)  # a stale rendition must not hide the failure
            blob.thumbnail_status, blob.thumbnail_error = Blob.Thumbnail.FAILED, error[:_ERROR_LENGTH]
            failed.append(blob)
        else:
            ready_ids.append(blob.pk)
    if ready_ids:
        Blob.objects.filter(pk__in=ready_ids).update(
            thumbnail_status=Blob.Thumbnail.READY, thumbnail_error=""
        )
    if failed:
        Blob.objects.bulk_update(failed, ["thumbnail_status", "thumbnail_error"])
    return {blob.pk: blob.thumbnail_error for blob in failed}
