"""Reading and controlling a job over the API. Submitting (POST /api/jobs/) is the media library's.

Its routes are named `job`, `job_cancel` and `job_retry` in the API's URL namespace.
No auth is set here: the API's global auth applies, and it answers with the User (`request.auth`).
"""

import uuid
from datetime import datetime

from django.http import Http404
from ninja import Router, Schema, Status
from pydantic import Field

from jobs import services
from jobs.models import Job, JobFailure
from jobs.progress import result_link

router = Router(tags=["jobs"])

MAX_FAILURES = 1000


class FailureOut(Schema):
    item_id: int
    reason: str


class JobOut(Schema):
    id: uuid.UUID
    kind: str
    status: str
    total: int
    done: int
    failed: int
    failures: list[FailureOut]
    created: datetime
    started: datetime | None
    finished: datetime | None
    download_url: str | None = Field(
        None, description="A finished job's result to download (e.g. a ZIP), when its kind has one."
    )


def _owned(request, job_id):
    try:
        return services.owned_job(job_id, request.auth)  # the API's auth answers with the User
    except Job.DoesNotExist:
        raise Http404("No such job") from None


def job_payload(job):
    failures = JobFailure.objects.filter(job=job).order_by("chunk_index", "item_id")[:MAX_FAILURES]
    return {
        "id": job.pk, "kind": job.kind, "status": job.status, "total": job.total, "done": job.done,
        "failed": job.failed, "failures": [{"item_id": f.item_id, "reason": f.reason} for f in failures],
        "created": job.created, "started": job.started, "finished": job.finished,
        "download_url": _download_url(job),
    }  # fmt: skip


def _download_url(job):
    link = None if job.is_active else result_link(job)
    return link.url if link is not None and link.url else None


@router.get("/{uuid:job_id}/", response=JobOut, url_name="job")
def get_job(request, job_id: uuid.UUID):
    return job_payload(_owned(request, job_id))


@router.post("/{uuid:job_id}/cancel/", response=JobOut, url_name="job_cancel")
def cancel_job(request, job_id: uuid.UUID):
    job = _owned(request, job_id)
    services.cancel_job(job, request.auth)
    job.refresh_from_db()
    return job_payload(job)


@router.post("/{uuid:job_id}/retry/", response={201: JobOut, 409: dict}, url_name="job_retry")
def retry_job(request, job_id: uuid.UUID):
    """Retry only the failed items, as a new job (its id is in the answer)."""
    job = _owned(request, job_id)
    try:
        new_job = services.retry_failed(job, request.auth)
    except (ValueError, LookupError) as exc:
        return Status(409, {"detail": str(exc)})
    return Status(201, job_payload(new_job))
