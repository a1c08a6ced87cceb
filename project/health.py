"""`GET /healthz`: is the database, Redis and at least one worker there?

The status codes are for load balancers and anyone may read them; what went wrong (exception
texts naming hosts, ports and paths) is only shown to staff.
"""

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from media_library.unavailable import RETRY_AFTER_SECONDS
from project.celery import app as celery_app

logger = logging.getLogger(__name__)

WORKER_PING_TIMEOUT = 1.0


def _error(what, exc):
    logger.warning("health check: %s is down: %r", what, exc)
    return f"error: {exc.__class__.__name__}: {exc}"


def check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # report, never raise: this is a health endpoint
        return _error("the database", exc)


def check_redis():
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return "ok"
    except Exception as exc:
        return _error("redis", exc)


def count_workers():
    try:
        with celery_app.connection_for_write() as connection:
            # A broadcast retries for as long as the broker is down: ask it once first.
            connection.ensure_connection(max_retries=1)
            inspect = celery_app.control.inspect(timeout=WORKER_PING_TIMEOUT, connection=connection)
            return len(inspect.ping() or {})
    except Exception:
        return 0


def caller_is_staff(request):
    try:
        return request.user.is_staff
    except Exception:  # the session lives in the database, which may be the thing that is down
        return False


@never_cache
def healthz(request):
    report = {"database": check_database(), "redis": check_redis(), "workers": count_workers()}
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    if not caller_is_staff(request):
        report = {key: "error" if str(value).startswith("error") else value for key, value in report.items()}
    response = JsonResponse(report, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)  # as every other 503 of an outage
    return response
