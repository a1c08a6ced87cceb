"""Requests that cannot be read are the client's mistake: a 400/413 with a JSON reason, never a 500.

Django raises these while it parses a body (a multipart body without a boundary, a part whose
headers pass its 1 KB limit, more files or fields than allowed, more bytes than
DATA_UPLOAD_MAX_MEMORY_SIZE). Pages get Django's own 400 page (templates/400.html); the JSON API
answers with `{"error": ...}` through these handlers, registered on the NinjaAPI.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParserError


def _megabytes(size):
    return f"{size / (1024 * 1024):g} MB"


def describe(exc):
    """(status, message) for an exception raised while reading a request body."""
    if isinstance(exc, RequestDataTooBig):
        limit = _megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return 413, f"The request body is too large: form fields and JSON may take up to {limit}."
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return 400, f"Too many files in one request (at most {limit:,}): send them in smaller batches."
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, f"Too many form fields in one request (at most {limit:,})."
    if "header size" in str(exc):
        # Django allows 1 KB of headers per part; only a very long file name gets there.
        return 400, "A part's headers are over 1 KB: a file name is too long (keep it under 255 characters)."
    return 400, f"The multipart body could not be read: {exc}"


READ_ERRORS = (MultiPartParserError, RequestDataTooBig, TooManyFilesSent, TooManyFieldsSent)


def register_api_handlers(api):
    """Answer the body-reading errors with JSON on `api` (a NinjaAPI)."""

    def handle(request, exc):
        status, message = describe(exc)
        return api.create_response(request, {"error": message}, status=status)

    for exception_class in READ_ERRORS:
        api.add_exception_handler(exception_class, handle)
