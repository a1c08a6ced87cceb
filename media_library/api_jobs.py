"""POST /api/jobs/: submit a bulk action over a selection resolved on the server.

Thin on purpose: validate the arguments, resolve the selection for the caller (other owners' ids
drop out silently), hand the ids to `jobs.submit`. Reading and controlling a job afterwards
(/api/jobs/<id>/…) is the jobs engine's API.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from ninja import Router, Schema, Status

import jobs
from jobs.registry import get_kind
from media_library.selection import SelectionError, SelectionNotFound, job_params, resolve_selection

router = Router(tags=["jobs"])

# The API's action names -> the job kinds that run them.
ACTION_KINDS = {
    "trash": "trash",
    "restore": "restore",
    "delete": "delete",
    "move": "move",
    "copy": "copy",
    "rename": "rename",
    "thumbnails": "thumbnails",
}
NOTHING_ELIGIBLE = "None of the selected files can be used for this action."


class JobRequest(Schema):
    action: str
    file_ids: list[Any] | None = None
    folder_id: int | None = None
    target_folder_id: int | None = None  # required for move/copy; null means the root
    pattern: str | None = None  # rename many: e.g. "trip-{n:03}{ext}"
    name: str | None = None  # rename one file to exactly this name
    q: str = ""  # with folder_id: the listing's name filter, so "all N" means what the user sees


class JobSubmitted(Schema):
    job_id: str
    status_url: str
    file_count: int


class Error(Schema):
    error: str


def _caller(request):
    """The authenticated user, whichever auth answered (a session user, or a token's user)."""
    auth = request.auth
    if getattr(auth, "is_authenticated", False) and hasattr(auth, "pk"):
        return auth
    return getattr(auth, "user", None) or request.user


@router.post("jobs/", response={202: JobSubmitted, 400: Error}, url_name="submit_job")
def submit_job(request, payload: JobRequest):
    owner = _caller(request)
    kind = ACTION_KINDS.get(payload.action)
    try:
        if kind is None:
            raise LookupError(payload.action)
        get_kind(kind)
    except LookupError:
        return Status(400, {"error": f"Unknown action {payload.action!r}."})
    if payload.file_ids is not None and payload.folder_id is not None:
        return Status(400, {"error": "Give either file_ids or folder_id, not both."})
    if payload.folder_id is None and not payload.file_ids:
        return Status(400, {"error": "No files selected."})
    if payload.action in ("move", "copy") and "target_folder_id" not in payload.model_fields_set:
        return Status(400, {"error": "Choose a target folder (target_folder_id; null for the root)."})
    try:
        selection = resolve_selection(
            owner.pk, kind, file_ids=payload.file_ids, folder_id=payload.folder_id, q=payload.q
        )
        eligible = selection.exists()
        if eligible:
            params = job_params(
                owner.pk,
                kind,
                target_folder_id=payload.target_folder_id,
                pattern=payload.pattern,
                name=payload.name,
                file_count=selection.count() if payload.action == "rename" else None,
            )
    except SelectionNotFound:
        eligible = False  # someone else's folder reads exactly like one with nothing eligible
    except SelectionError as error:
        return Status(400, {"error": str(error)})
    if not eligible:
        return Status(400, {"error": NOTHING_ELIGIBLE})
    try:
        # The ids stream from the database into the job's chunk rows (never one big list here).
        job = jobs.submit(kind, owner, selection.iterator(chunk_size=2000), params=params)
    except PermissionDenied as error:
        return Status(400, {"error": str(error)})
    status_url = f"{reverse('api:submit_job')}{job.id}/"
    return Status(202, {"job_id": str(job.id), "status_url": status_url, "file_count": job.total})
