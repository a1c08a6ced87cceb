"""The bulk actions of the file manager: resolve a selection on the server, then submit one job.

A selection is either explicit ids (files the user ticked) or "all" — every file the view shows:
a folder with its active name filter, or the trash with its filter. "All" is resolved here from
(folder, filter) with the same selector that renders the listing, so it covers files never loaded
in the browser and can never mean more than the user saw (a select-all that ignored the filter
deleted a whole library in another product). Each action is a small declarative record.
"""

from dataclasses import dataclass

from django.utils.translation import ngettext

from media_library.listing import SORTS, files_in_scope
from media_library.models import Folder, MediaFile
from media_library.operations import OperationError, compile_pattern

MAX_EXPLICIT_IDS = 10_000  # beyond this the browser sends the "all in this folder" scope instead


class BulkActionError(ValueError):
    """Bad input for a bulk action; the message is safe to show to the user."""


class SelectionNotFound(BulkActionError):
    """The selection names a folder that is not the caller's (a 404: never reveal that it exists)."""


@dataclass(frozen=True)
class BulkAction:
    name: str  # what the browser posts, and the action name of POST /api/jobs/
    label: str  # the button
    kind: str  # the job kind registered by media_library.job_kinds
    verb: str  # "Move %(count)s file" … for the confirmation (ngettext singular/plural pair)
    verb_plural: str
    on_trashed: bool = False  # acts on trashed files (restore, delete) instead of live ones
    needs_target: bool = False
    needs_pattern: bool = False
    destructive: bool = False
    whole_trash: bool = False  # ignores the selection: every trashed file of the owner

    def describe(self, count):
        return ngettext(self.verb, self.verb_plural, count) % {"count": f"{count:,}"}


ACTIONS = {
    action.name: action
    for action in (
        BulkAction("move", "Move to…", "move", "Move %(count)s file to", "Move %(count)s files to",
                   needs_target=True),
        BulkAction("copy", "Copy to…", "copy", "Copy %(count)s file to", "Copy %(count)s files to",
                   needs_target=True),
        BulkAction("rename", "Rename…", "rename", "Rename %(count)s file", "Rename %(count)s files",
                   needs_pattern=True),
        BulkAction("trash", "Move to trash", "trash", "Move %(count)s file to the trash?",
                   "Move %(count)s files to the trash?", destructive=True),
        BulkAction("thumbnails", "Regenerate thumbnails", "thumbnails",
                   "Regenerate the thumbnails of %(count)s file?",
                   "Regenerate the thumbnails of %(count)s files?"),
        BulkAction("restore", "Restore", "restore", "Restore %(count)s file to where it came from?",
                   "Restore %(count)s files to where they came from?", on_trashed=True),
        BulkAction("delete", "Delete permanently", "delete",
                   "Permanently delete %(count)s file? This cannot be undone.",
                   "Permanently delete %(count)s files? This cannot be undone.",
                   on_trashed=True, destructive=True),
        BulkAction("empty_trash", "Empty trash", "empty_trash",
                   "Permanently delete the %(count)s file in the trash? This cannot be undone.",
                   "Permanently delete all %(count)s files in the trash? This cannot be undone.",
                   on_trashed=True, destructive=True, whole_trash=True),
    )
}  # fmt: skip
FOLDER_ACTIONS = ("move", "copy", "rename", "trash", "thumbnails")
TRASH_ACTIONS = ("restore", "delete", "empty_trash")
RENAME_FIELDS = ("{n", "{name}", "{ext}")


def get_action(name):
    try:
        return ACTIONS[name]
    except KeyError:
        raise BulkActionError("Unknown action.") from None


def parse_ids(raw):
    """'1,2,3' (one form field, so a big selection never hits DATA_UPLOAD_MAX_NUMBER_FIELDS)."""
    if isinstance(raw, (list, tuple)):
        parts = [str(p) for p in raw]
    else:
        parts = str(raw or "").replace(" ", "").split(",")
    try:
        ids = {int(p) for p in parts if p}
    except ValueError:
        raise BulkActionError("The selection is not valid.") from None
    if len(ids) > MAX_EXPLICIT_IDS:
        raise BulkActionError(
            f"Too many files ticked one by one (over {MAX_EXPLICIT_IDS:,}): use “Select all in this folder”."
        )
    return sorted(ids)


def owned_folder(owner_id, folder_id):
    if folder_id is None:
        return None
    folder = Folder.objects.filter(owner_id=owner_id, id=folder_id).first()
    if folder is None:
        raise SelectionNotFound("Folder not found.")
    return folder


def resolve_selection(owner_id, action, *, scope="ids", file_ids=None, folder_id=None, q="", sort="name"):
    """The queryset of the owner's files the action will touch, in the order the user sees them.

    scope "ids": the ticked ids that are the owner's and in the right state (live, or trashed for
    restore/delete) — other owners' ids are silently dropped, never revealed. scope "all": every
    file of the folder (or of the trash, for trash actions) matching the name filter `q`.
    """
    action = get_action(action) if isinstance(action, str) else action
    if action.whole_trash:
        files = files_in_scope(owner_id, trashed=True)
    elif scope == "all":
        if not action.on_trashed:
            owned_folder(owner_id, folder_id)
        files = files_in_scope(owner_id, folder_id, q=q, trashed=action.on_trashed)
    elif scope == "ids":
        ids = parse_ids(file_ids)
        files = MediaFile.objects.filter(
            owner_id=owner_id, id__in=ids, trashed_at__isnull=not action.on_trashed
        )
    else:
        raise BulkActionError("The selection is not valid.")
    field_name, descending = SORTS.get(sort, SORTS["name"])
    if field_name == "trashed_at" and not action.on_trashed:
        field_name = "name"
    prefix = "-" if descending else ""
    return files.order_by(f"{prefix}{field_name}", f"{prefix}id")


def validate_arguments(owner_id, action, *, target_folder_id=None, pattern=None):
    """The job parameters of an action, or BulkActionError with a message for the form."""
    params = {}
    if action.needs_target:
        if target_folder_id in (None, ""):
            params["target_folder_id"] = None  # the library root
        else:
            try:
                target = owned_folder(owner_id, int(target_folder_id))
            except (TypeError, ValueError, SelectionNotFound):
                raise BulkActionError("Choose a folder of your library.") from None
            params["target_folder_id"] = target.id
    if action.needs_pattern:
        pattern = (pattern or "").strip()
        if not pattern:
            raise BulkActionError("Enter a name pattern, e.g. trip-{n:03}{ext}.")
        if not any(token in pattern for token in RENAME_FIELDS):
            raise BulkActionError(
                "The pattern needs {n}, {n:03}, {name} or {ext}, or every file gets the same name."
            )
        try:
            compile_pattern(pattern)  # the very check the rename job applies: no surprises later
        except OperationError as exc:
            raise BulkActionError(str(exc)) from None
        params["pattern"] = pattern
    return params


def submit_bulk_action(
    owner,
    action,
    *,
    file_ids=None,
    folder_id=None,
    scope=None,
    q="",
    sort="name",
    target_folder_id=None,
    pattern=None,
):
    """Resolve the selection, then submit ONE job over all of it. Returns (job, file_count).

    `scope` defaults to "ids" when file_ids are given, else "all" (the folder, or the trash).
    """
    spec = get_action(action)
    scope = scope or ("ids" if file_ids is not None else "all")
    params = validate_arguments(owner.pk, spec, target_folder_id=target_folder_id, pattern=pattern)
    files = resolve_selection(
        owner.pk, spec, scope=scope, file_ids=file_ids, folder_id=folder_id, q=q, sort=sort
    )
    ids = list(files.values_list("id", flat=True))
    if not ids:
        raise BulkActionError("The trash is empty." if spec.whole_trash else "No files selected.")
    from jobs import submit  # the jobs engine (issue 4); imported here so this module loads alone

    job = submit(spec.kind, owner, ids, params=params)
    return job, len(ids)
