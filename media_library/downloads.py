"""Serving a file's bytes to its owner only: download, inline view and thumbnails.

Another user's file id is a 404, exactly like a missing one. Responses never let a browser
guess a type (`nosniff`) and carry a Content-Disposition built from the display name so that
no name can inject a header or a path.
"""

import functools
import unicodedata
from urllib.parse import quote

from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from ninja.errors import AuthenticationError

from media_library.api_auth import user_from_bearer
from media_library.models import MediaFile
from media_library.storage import open_blob_bytes

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
THUMBNAIL_SIZES = (256, 1024)
PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 4 4">'
    '<rect width="4" height="4" fill="#e5e7eb"/></svg>'
)


def ascii_fallback(name):
    """A plain-ASCII stand-in for old clients: accents folded, anything unusual replaced by '_'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    safe = "".join(ch if ch.isalnum() or ch in " ._()-" else "_" for ch in folded).strip()
    return safe or "download"


def content_disposition(disposition, name):
    """RFC 6266 / 5987: a quoted ASCII `filename` plus the exact UTF-8 name in `filename*`."""
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def _owner(request):
    """The caller: the session user, or a Bearer token's (scripts); None if neither."""
    if request.user.is_authenticated:
        return request.user
    try:
        return user_from_bearer(request)
    except AuthenticationError:
        return None


def _owned_file(request, file_id):
    return get_object_or_404(MediaFile.objects.select_related("blob"), pk=file_id, owner=request.owner)


def _protect(response):
    response["X-Content-Type-Options"] = "nosniff"
    # Private bytes: no shared cache may keep them; a sandbox in case a browser renders them.
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


def owner_required(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.owner = _owner(request)
        if request.owner is None:
            if "Authorization" in request.headers:
                return HttpResponse("Unauthorized", status=401, content_type="text/plain")
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def _blob_response(media_file, disposition):
    blob = media_file.blob
    try:
        handle = open_blob_bytes(blob.sha256)
    except FileNotFoundError:
        raise Http404("The bytes of this file are missing.") from None
    response = FileResponse(handle, content_type=CONTENT_TYPES.get(blob.format, "application/octet-stream"))
    response["Content-Disposition"] = content_disposition(disposition, media_file.name)
    return _protect(response)


@owner_required
def download(request, file_id):
    """The file's bytes as an attachment, under its display name."""
    return _blob_response(_owned_file(request, file_id), "attachment")


@owner_required
def raw(request, file_id):
    """The file's bytes shown inline (full-size view in the browser)."""
    return _blob_response(_owned_file(request, file_id), "inline")


def thumbnail_storage_name(sha256, size):
    return f"thumbs/{sha256[:2]}/{sha256[2:4]}/{sha256}-{size}.webp"


@owner_required
def thumbnail(request, file_id, size):
    """The WebP rendition made by the thumbnails job, or a placeholder until it exists."""
    if size not in THUMBNAIL_SIZES:
        raise Http404("No such thumbnail size.")
    media_file = _owned_file(request, file_id)
    try:
        # The thumbnails module owns renditions (names, statuses, placeholders) when installed.
        from media_library.thumbnails import thumbnail_response
    except ImportError:
        return _stored_thumbnail_or_placeholder(media_file, size)
    return thumbnail_response(media_file.blob, size)


def _stored_thumbnail_or_placeholder(media_file, size):
    name = thumbnail_storage_name(media_file.blob.sha256, size)
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        response = HttpResponse(PLACEHOLDER_SVG.format(size=size), content_type="image/svg+xml")
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"  # the real thumbnail may exist in a moment
        return response
    return _protect(FileResponse(handle, content_type="image/webp"))
