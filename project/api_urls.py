"""One django-ninja API for the whole product; each app contributes a router."""

from django.urls import path
from ninja import NinjaAPI

from jobs.api import router as jobs_router
from media_library.api.auth import api_auth
from media_library.api.files import router as media_router
from media_library.api.jobs import router as media_jobs_router
from media_library.unavailable import register_api_handler as register_storage_handler
from project.redis_errors import register_api_handler as register_redis_handler
from project.request_errors import register_api_handlers

# Every endpoint requires a login: `Authorization: Bearer <token>`, or the session (with CSRF on
# unsafe methods); see media_library.api.auth.
api = NinjaAPI(title="Mediaflow API", version="1", urls_namespace="api", auth=api_auth)
register_api_handlers(api)  # a body Django cannot read is a 400/413 with a reason, not a 500
register_storage_handler(api)  # a storage outage is a 503 with Retry-After, not a 500
register_redis_handler(api)  # so is a Redis outage, where a request needs Redis

# POST /api/jobs/ (submit) belongs to the media library, which resolves selections;
# reading and controlling a job (/api/jobs/<id>/...) belongs to the jobs engine.
api.add_router("/", media_jobs_router)
api.add_router("/jobs/", jobs_router)
api.add_router("/", media_router)

urlpatterns = [path("", api.urls)]
