"""What a request answers while the storage is down: 503 with Retry-After, never a 500.

media_library.storage raises StorageUnavailable for any outage; the JSON API turns it into
`{"error": ...}` (a handler on the NinjaAPI), pages into a readable 503 page (the middleware in
project.storage_errors).
Nothing was changed when it is raised (bytes are written before the rows that point at them),
so the client may simply send the request again.
"""

import logging

from django.http import JsonResponse
from django.shortcuts import render

from media_library.storage import StorageUnavailable

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
MESSAGE = (
    "The file storage is unavailable at the moment. Nothing was lost; please try again in a few seconds."
)


def json_unavailable(payload=None, message=MESSAGE):
    response = JsonResponse({"error": str(message), **(payload or {})}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_unavailable(request, message=MESSAGE, heading=None):
    """`heading` names what is down (the page says "The file storage is unavailable" without it)."""
    context = {"message": message, "heading": heading}
    response = render(request, "503.html", context, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def unavailable(request, message=MESSAGE, heading=None):
    """The 503 a caller reads: JSON for the API and JSON clients, the page for a browser."""
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return json_unavailable(message=message)
    return page_unavailable(request, message=message, heading=heading)


def register_api_handler(api):
    """On `api` (a NinjaAPI): StorageUnavailable is a 503 `{"error": ...}` with Retry-After."""

    def handle(request, exc):
        logger.warning("storage unavailable for %s %s: %s", request.method, request.path, exc)
        return json_unavailable()

    api.add_exception_handler(StorageUnavailable, handle)
