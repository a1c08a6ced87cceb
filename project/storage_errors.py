"""A storage outage on a page is a readable 503 with Retry-After, not a 500 (the JSON API has its
own handler; both answers are built by media_library.unavailable).

Kept in `project` so that the middleware, entered on every request, is not on the media library's
own module path.
"""

import logging

from media_library.storage import StorageUnavailable
from media_library.unavailable import unavailable

logger = logging.getLogger(__name__)


class StorageUnavailableMiddleware:
    """Pages (and anything outside the NinjaAPI) that hit a storage outage answer 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, StorageUnavailable):
            return None
        logger.warning("storage unavailable for %s %s: %s", request.method, request.path, exception)
        return unavailable(request)
