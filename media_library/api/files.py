"""The JSON API for files and folders (mounted at /api/; auth in media_library.api.auth).

Views are thin: they check ownership (another user's ids are a 404, never a 403, so nothing
is revealed), then call ingest / listing / folder functions that know nothing about HTTP.
"""

from datetime import datetime

from django.db import IntegrityError
from django.urls import reverse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from media_library import listing
from media_library.folders import MAX_FOLDER_DEPTH, FolderNotFound, FolderTooDeep, create_folder, owned_folder
from media_library.ingest import ingest_uploads
from media_library.models import Folder, MediaFile
from media_library.unavailable import json_unavailable

router = Router(tags=["files"])


class ErrorOut(Schema):
    error: str


class UploadedFileOut(Schema):
    index: int = Field(description="Position of the file among the request's `files`.")
    id: int
    name: str
    folder_id: int | None
    size: int
    sha256: str
    width: int
    height: int
    duplicate: bool = Field(description="True when you already had a file with exactly these bytes.")


class RejectedFileOut(Schema):
    index: int = Field(description="Position of the file among the request's `files`.")
    name: str
    error: str


class UploadOut(Schema):
    files: list[UploadedFileOut]
    errors: list[RejectedFileOut]
    thumbnail_job_id: str | None = Field(None, description="The job making thumbnails of the new files.")


class UnavailableOut(UploadOut):
    error: str
    not_stored: list[int] = Field(description="Indexes of the files not stored: send them again.")


class FileOut(Schema):
    id: int
    name: str
    folder_id: int | None
    size: int
    sha256: str
    format: str
    width: int
    height: int
    created: datetime
    trashed_at: datetime | None
    download_url: str
    thumbnail_url: str


class FilePageOut(Schema):
    files: list[FileOut]
    next_cursor: str | None


class FolderOut(Schema):
    id: int
    name: str
    parent_id: int | None
    path: str
    depth: int


class FolderPageOut(Schema):
    folders: list[FolderOut]
    next_cursor: str | None


class FolderIn(Schema):
    name: str = Field(..., max_length=1024)
    parent_id: int | None = None


class FileListParams(Schema):
    folder_id: int | None = Field(None, description="Folder to list; omitted = the root.")
    trashed: bool = Field(False, description="List the trash instead (folder_id is then ignored).")
    q: str = Field("", max_length=255, description="Only names containing this text (case-insensitive).")
    sort: str = Field(
        "name",
        description="name, created or size (and trashed, in the trash); prefix '-' for descending.",
    )
    cursor: str | None = Field(
        None, max_length=listing.MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."
    )
    limit: int = Field(100, ge=1, le=listing.MAX_LIMIT)


class FolderListParams(Schema):
    parent_id: int | None = Field(None, description="Parent folder; omitted = the root.")
    cursor: str | None = Field(
        None, max_length=listing.MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."
    )
    limit: int = Field(100, ge=1, le=listing.MAX_LIMIT)


def file_out(media_file):
    blob = media_file.blob
    return {
        "id": media_file.pk,
        "name": media_file.name,
        "folder_id": media_file.folder_id,
        "size": media_file.size,
        "sha256": blob.sha256,
        "format": blob.format,
        "width": blob.width,
        "height": blob.height,
        "created": media_file.created,
        "trashed_at": media_file.trashed_at,
        "download_url": reverse("media_library:download", args=[media_file.pk]),
        "thumbnail_url": reverse("media_library:thumbnail", args=[media_file.pk, 256]),
    }


UPLOAD_DESCRIPTION = f"""
Upload images as `multipart/form-data`.

- `files`: one part per file (repeat the field). JPEG, PNG, WebP and GIF are accepted, whatever
  the file name says; each file is checked on its own, so one bad file never fails the others.
- `folder_id` (optional): the target folder; omitted = the root.
- `relative_path` (optional): for a folder upload, repeat this field once per file, **in the
  same order as `files`** (send an empty value for a file without one). It is the file's path
  inside the uploaded folder, e.g. `Trip/day 1/img.jpg` (a browser's `webkitRelativePath`); its
  directories are created under the target folder (existing folders of the same name are
  reused; `..`, `.` and empty parts are ignored); the last part (the file name) is ignored.
  Folders nest at most {MAX_FOLDER_DEPTH} levels deep: a file whose path would go deeper is rejected.

Answers 201 with the stored files (`duplicate` is true when you already had exactly these bytes)
and the rejected ones with a reason, even if some were rejected. Each entry carries `index`, the
position of its file among the request's `files` (names may have been made safe, so match on it).

Answers 503 with `Retry-After` when the file storage is unavailable: `error` says so, `files` and
`errors` report the files handled before the outage (they are stored, or rejected, for good) and
`not_stored` the indexes of the files to send again.
"""


@router.post(
    "/files/",
    response={201: UploadOut, 400: ErrorOut, 404: ErrorOut, 503: UnavailableOut},
    summary="Upload files",
    description=UPLOAD_DESCRIPTION,
)
def upload_files(
    request,
    files: File[list[UploadedFile]] = None,
    folder_id: Form[int | None] = None,
    relative_path: Form[list[str]] = None,
):
    # `files` and `relative_path` are declared for validation and the OpenAPI document; they are
    # read from the request as lists so that empty relative paths keep their position.
    uploads = request.FILES.getlist("files")
    if not uploads:
        return Status(400, {"error": "No files were sent: add one or more `files` parts."})
    relative_paths = request.POST.getlist("relative_path")
    if relative_paths and len(relative_paths) != len(uploads):
        counts = f"{len(uploads)} files, {len(relative_paths)} paths"
        return Status(400, {"error": f"Send one relative_path per file ({counts})."})
    try:
        folder = owned_folder(request.auth.pk, folder_id)
    except FolderNotFound:
        return Status(404, {"error": "Folder not found."})
    outcome = ingest_uploads(request.auth, uploads, folder=folder, relative_paths=relative_paths or None)
    body = {
        "files": [
            {
                "index": item.index,
                "id": item.file.pk,
                "name": item.file.name,
                "folder_id": item.file.folder_id,
                "size": item.file.size,
                "sha256": item.file.blob.sha256,
                "width": item.file.blob.width,
                "height": item.file.blob.height,
                "duplicate": item.duplicate,
            }
            for item in outcome.stored
        ],
        "errors": [{"index": r.index, "name": r.name, "error": r.error} for r in outcome.errors],
        "thumbnail_job_id": outcome.thumbnail_job_id,
    }
    if outcome.unavailable:
        # The storage went down mid-request: what is listed is stored for good, the rest is not.
        return json_unavailable({**body, "not_stored": outcome.not_stored})
    return Status(201, body)


@router.get(
    "/files/",
    response={200: FilePageOut, 400: ErrorOut, 404: ErrorOut},
    summary="List files",
    description="One page of a folder's files (or the trash), in keyset order; "
    "pass `next_cursor` back as `cursor` for the next page (null on the last page).",
)
def list_files(request, params: Query[FileListParams]):
    if not params.trashed:
        try:
            owned_folder(request.auth.pk, params.folder_id)
        except FolderNotFound:
            return Status(404, {"error": "Folder not found."})
    try:
        page, next_cursor = listing.list_files(
            request.auth.pk,
            params.folder_id,
            sort=params.sort,
            q=params.q,
            trashed=params.trashed,
            cursor=params.cursor,
            limit=params.limit,
        )
    except listing.InvalidCursor:
        return Status(400, {"error": "Invalid cursor."})
    except ValueError:
        sorts = ", ".join(listing.TRASH_SORTS if params.trashed else listing.FOLDER_SORTS)
        return Status(400, {"error": f"Unknown sort {params.sort!r}; use one of {sorts}."})
    return Status(200, {"files": [file_out(f) for f in page], "next_cursor": next_cursor})


@router.get("/files/{file_id}/", response={200: FileOut, 404: ErrorOut}, summary="One file")
def get_file(request, file_id: int):
    media_file = MediaFile.objects.select_related("blob").filter(pk=file_id, owner_id=request.auth.pk).first()
    if media_file is None:
        return Status(404, {"error": "File not found."})
    return Status(200, file_out(media_file))


@router.get(
    "/folders/",
    response={200: FolderPageOut, 400: ErrorOut, 404: ErrorOut},
    summary="List folders",
    description="The sub-folders of `parent_id` (omitted = the root folders), by name, a page at a time.",
)
def list_folders(request, params: Query[FolderListParams]):
    try:
        parent = owned_folder(request.auth.pk, params.parent_id)
    except FolderNotFound:
        return Status(404, {"error": "Folder not found."})
    rows = Folder.objects.filter(owner_id=request.auth.pk, parent=parent)
    try:
        page, next_cursor = listing.keyset_page(rows, "name", params.cursor, params.limit)
    except listing.InvalidCursor:
        return Status(400, {"error": "Invalid cursor."})
    return Status(200, {"folders": page, "next_cursor": next_cursor})


@router.post(
    "/folders/",
    response={201: FolderOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Create a folder",
    description="The name is made safe and, like a desktop file manager, gets a ' (2)' suffix "
    "when the parent already has a folder of that name. Folders nest at most "
    f"{MAX_FOLDER_DEPTH} levels deep: a folder under one at the last level is a 400.",
)
def make_folder(request, payload: FolderIn):
    try:
        parent = owned_folder(request.auth.pk, payload.parent_id)
    except FolderNotFound:
        return Status(404, {"error": "Folder not found."})
    try:
        folder = create_folder(request.auth.pk, parent.pk if parent else None, payload.name)
    except FolderTooDeep as error:
        return Status(400, {"error": str(error)})
    except IntegrityError:
        return Status(409, {"error": "Could not find a free name for the folder; please try again."})
    return Status(201, folder)
