"""POST /api/jobs/: a bulk action over a selection resolved on the server, as JSON.

The pages' submit (media_library.actions.submit_action) behind a JSON schema: the action names
are the registry's, other owners' ids drop out silently, the ids stream from the database into
the job's chunk rows. Reading and controlling a job afterwards (/api/jobs/<id>/…) is the jobs
engine's API.
"""

from typing import Any

from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import Field

from media_library.actions import (
    Scope,
    SelectionError,
    SelectionNotFound,
    actions_with_scope,
    all_actions,
    submit_action,
)
from media_library.actions.selection import NOTHING_ELIGIBLE

router = Router(tags=["jobs"])

SUBMIT_DESCRIPTION = """
Start one job of a bulk action over a selection. `action` is one of the registered actions:
{actions}.

The selection is either `file_ids`, any number of them as long as the request body fits in
DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default: about 300,000 seven-digit ids), or `folder_id`:
the live files directly in that folder (matching `q`), or for the actions on trashed files the
trashed files that came from it. With `"subfolders": true` (actions that take a folder tree:
{tree}) the files of the folder and all its subfolders, at any depth; without `folder_id`, the
whole library. `empty_trash` takes the whole trash and needs no selection. Ids that are not
yours or not in the right state (trashed files for `move`) drop out. Files are taken in the
order of `sort`, so `rename`'s `{{n}}` numbers them in that order.

`archive` makes one ZIP (files STORED, ZIP64, UTF-8 names made unique per directory as
"photo (2).jpg"): ticked files and a folder's files sit at the ZIP's root, a folder with its
subfolders keeps its tree under the folder's name. The job stays `running` until its ZIP is
assembled: once `GET /api/jobs/<id>/` says `succeeded` (or `partial`) it gives the ZIP's
`download_url` (owner only, HTTP Range, removed after ARCHIVE_RETENTION_HOURS); a ZIP that
cannot be assembled makes the job `failed`. Files whose bytes are missing fail the job's items
and are listed in the ZIP's MISSING.txt.
""".format(
    actions=", ".join(f"`{action.name}` ({action.label})" for action in all_actions()),
    tree=", ".join(f"`{action.name}`" for action in actions_with_scope(Scope.TREE)),
)


class JobRequest(Schema):
    action: str = Field(description="One of the registered actions listed above.")
    file_ids: list[Any] | None = Field(None, description="The files, ticked one by one (or give folder_id).")
    folder_id: int | None = Field(None, description="The files of this folder of yours (or give file_ids).")
    q: str = Field("", description="With folder_id: the listing's name filter (what the user sees).")
    subfolders: bool = Field(
        False, description="With folder_id (or none: the whole library): its subfolders too (archive)."
    )
    sort: str = Field("name", description="The listing order the files are taken in (e.g. -created).")
    target_folder_id: int | None = None  # required for move/copy; null means the root
    pattern: str | None = None  # rename many: e.g. "trip-{n:03}{ext}"
    name: str | None = None  # rename one file to exactly this name


class JobSubmitted(Schema):
    job_id: str
    status_url: str
    file_count: int


class Error(Schema):
    error: str


def submitted_fields(payload):
    """The payload as the fields submit_action reads (it builds the Selection): only the fields
    the caller sent."""
    if payload.file_ids is not None and payload.folder_id is not None:
        raise SelectionError("Give either file_ids or folder_id, not both.")
    if payload.file_ids is not None and payload.subfolders:
        raise SelectionError("subfolders goes with folder_id, not with file_ids.")
    fields = payload.model_dump(exclude_unset=True)
    if payload.file_ids is not None:
        fields["scope"] = Scope.IDS
    elif payload.subfolders:
        fields["scope"] = Scope.TREE
    elif payload.folder_id is not None:
        fields["scope"] = Scope.FOLDER
    return fields


@router.post(
    "jobs/",
    response={202: JobSubmitted, 400: Error},
    url_name="submit_job",
    summary="Submit a bulk action",
    description=SUBMIT_DESCRIPTION,
)
def submit_job(request, payload: JobRequest):
    try:
        job, count = submit_action(request.auth, payload.action, submitted_fields(payload))
    except SelectionNotFound:
        # Someone else's folder reads exactly like one with nothing eligible.
        return Status(400, {"error": NOTHING_ELIGIBLE})
    except SelectionError as error:
        return Status(400, {"error": str(error)})
    status_url = reverse("api:job", kwargs={"job_id": job.id})
    return Status(202, {"job_id": str(job.id), "status_url": status_url, "file_count": count})
