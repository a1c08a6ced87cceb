"""A Redis outage is a 503 with Retry-After where a request needs Redis, never a 500.

Most requests need only the database and keep answering while Redis is down: a submitted job is
written to the database and the sweep sends it once the broker is back (jobs.lifecycle), progress
that cannot be published is skipped (jobs.progress). What cannot do without Redis (the admin's
"Run selected tasks", anything else that must reach the broker or the channel layer now) raises
one of REDIS_DOWN; pages then get a readable 503 page and JSON callers `{"error": ...}`, both with
Retry-After (built by media_library.unavailable, as for a storage outage).
"""

import logging

import redis
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from media_library.unavailable import unavailable

logger = logging.getLogger(__name__)

# redis-py's own errors (the channel layer, leases, locks) and kombu's, which Celery raises when a
# message cannot be published after its retries.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerUnreachable)
HEADING = _("Background jobs are unavailable")
MESSAGE = _(
    "Redis, which runs background jobs, cannot be reached at the moment. Nothing was changed; "
    "please try again in a few seconds."
)


def redis_unavailable(request, exc):
    logger.warning("redis unavailable for %s %s: %r", request.method, request.path, exc)
    return unavailable(request, message=MESSAGE, heading=HEADING)


class RedisUnavailableMiddleware:
    """Pages (and anything outside the NinjaAPI) that hit a Redis outage answer 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, REDIS_DOWN):
            return redis_unavailable(request, exception)
        return None


def register_api_handler(api):
    """On `api` (a NinjaAPI): a Redis outage is a 503 `{"error": ...}` with Retry-After."""
    for exception_class in REDIS_DOWN:
        api.add_exception_handler(exception_class, redis_unavailable)
