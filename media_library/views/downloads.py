"""Serving a file's bytes to its owner only: download, inline view, thumbnails and ZIP downloads.

Another user's file id (or job id) is a 404, exactly like a missing one. Responses never let a
browser guess a type (`nosniff`) and carry a Content-Disposition built from the display name so
that no name can inject a header or a path. On object storage a file or thumbnail is a 302 to a
short-lived presigned URL (the same headers signed in), checked for ownership first; on local disk
it streams. A ZIP streams from storage with its Content-Length and HTTP Range (a broken download
resumes), on both: it is several objects (media_library.storage).
"""

import functools
import unicodedata
from urllib.parse import quote

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja.errors import AuthenticationError

from media_library import imaging
from media_library.api.auth import user_from_bearer
from media_library.imaging import RENDITION_SIZES
from media_library.models import Archive, MediaFile
from media_library.storage import archive_redirect_url, blob_name, open_blob_bytes, presigned_url
from media_library.thumbnails import presigned_redirect, thumbnail_response
from media_library.views.ranges import stored_object_response


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
    # Private bytes: no shared cache may keep them; a sandbox in case a browser renders them. A
    # presigned redirect keeps its own shorter max-age (the URL it points at expires).
    response.setdefault("Cache-Control", "private, max-age=3600")
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
    """Object storage: a 302 to a presigned URL carrying the type and the safe name, so the bytes
    go from the bucket to the client (no request to the bucket here). Local disk: streamed."""
    blob = media_file.blob
    content_type = imaging.content_type(blob.format)
    header = content_disposition(disposition, media_file.name)
    url = presigned_url(blob_name(blob.sha256), content_type=content_type, disposition=header)
    if url:
        return _protect(presigned_redirect(url))
    try:
        handle = open_blob_bytes(blob.sha256)
    except FileNotFoundError:
        raise Http404("The bytes of this file are missing.") from None
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = header
    return _protect(response)


@owner_required
def download(request, file_id):
    """The file's bytes as an attachment, under its display name."""
    return _blob_response(_owned_file(request, file_id), "attachment")


@owner_required
def raw(request, file_id):
    """The file's bytes shown inline (full-size view in the browser)."""
    return _blob_response(_owned_file(request, file_id), "inline")


@owner_required
def thumbnail(request, file_id, size):
    """The WebP rendition made by the thumbnails job, or a placeholder until it exists."""
    if size not in RENDITION_SIZES:
        raise Http404("No such thumbnail size.")
    return thumbnail_response(_owned_file(request, file_id).blob, size)


@owner_required
def archive_download(request, job_id):
    """The ZIP an archive job made, for the job's owner: 404 for anyone else and while it is not
    ready, 410 once it has expired."""
    archive = Archive.objects.filter(job_id=job_id, owner=request.owner).first()
    if archive is None or archive.status not in (Archive.Status.READY, Archive.Status.EXPIRED):
        raise Http404("No such ZIP.")
    if archive.status == Archive.Status.EXPIRED or archive.expires_at <= timezone.now():
        gone = HttpResponse("This ZIP has expired: make a new one.", status=410, content_type="text/plain")
        return _protect(gone)
    disposition = content_disposition("attachment", archive.name)
    redirect = archive_redirect_url(archive.stored_objects, archive.name)
    if redirect:
        return _protect(HttpResponseRedirect(redirect))
    try:
        response = stored_object_response(
            request, archive.stored_objects, archive.size, content_type="application/zip",
            etag=f'"{archive.job_id.hex}-{archive.size}"', headers={"Content-Disposition": disposition},
        )  # fmt: skip
    except FileNotFoundError:
        raise Http404("The bytes of this ZIP are missing.") from None
    return _protect(response)
