"""What a bulk action means: which files, and with which job parameters — for the pages and the API.

A selection is resolved on the server, never trusted from the client: explicit `file_ids` (files
ticked one by one), or "all N" of a view — the live files directly in a folder (None = the root)
matching the name filter `q`, exactly what its listing shows and not its subfolders; or, for the
actions on trashed files, the trash matching `q` (only the files trashed from `folder_id` when one
is given). It can never mean more than the user saw (a select-all that ignored the filter deleted
a whole library in another product). Ids of other owners and files in the wrong state for the
action drop out silently (never revealed). The arguments are checked before any job exists, with
the very checks the operations apply.
"""

import string

from media_library.folders import FolderError, get_owned_folder
from media_library.listing import SORTS, files_in_scope
from media_library.models import MediaFile
from media_library.operations import OperationError, compile_pattern
from media_library.operations.rename import exact_name_pattern

LIVE_ACTIONS = frozenset({"trash", "move", "copy", "rename", "thumbnails"})
TRASHED_ACTIONS = frozenset({"restore", "delete", "empty_trash"})
WHOLE_TRASH_ACTIONS = frozenset({"empty_trash"})  # every trashed file of the owner, whatever the view
TARGET_ACTIONS = frozenset({"move", "copy"})
# Beyond this a client selects the folder instead: ids travel one by one (a form field, JSON).
MAX_EXPLICIT_IDS = 10_000


class SelectionError(ValueError):
    """The selection or the arguments cannot make a job; the message is safe to show."""


class SelectionNotFound(SelectionError):
    """The selection names a folder that is not the caller's (a 404: never reveal that it exists)."""


def parse_ids(raw):
    """Sorted distinct ids from a list (JSON) or from '1,2,3' (one form field, so a big selection
    never hits DATA_UPLOAD_MAX_NUMBER_FIELDS)."""
    parts = [str(p) for p in raw] if isinstance(raw, (list, tuple)) else str(raw or "").split(",")
    try:
        ids = {int(p.strip()) for p in parts if p.strip()}
    except ValueError:
        raise SelectionError("The selection is not valid. file_ids must be a list of integers.") from None
    if len(ids) > MAX_EXPLICIT_IDS:
        raise SelectionError(
            f"Too many files ticked one by one (over {MAX_EXPLICIT_IDS:,}): use “Select all in this folder”."
        )
    return sorted(ids)


def resolve_selection(owner_id, action, *, file_ids=None, folder_id=None, q="", sort="name"):
    """The ids (a lazy values_list queryset) of the owner's files the action will touch, in the
    order the listing shows them for `sort`, so a rename's {n} numbers what the user sees.

    `file_ids` given: those ids that are the owner's and in the right state. Otherwise "all" of
    the view described above; a live action's folder must be the owner's (SelectionNotFound).
    Emptying the trash always means the whole trash, whatever is ticked or filtered.
    """
    if action not in LIVE_ACTIONS | TRASHED_ACTIONS:
        raise SelectionError(f"Unknown action {action!r}.")
    on_trashed = action in TRASHED_ACTIONS
    if action in WHOLE_TRASH_ACTIONS:
        files = files_in_scope(owner_id, trashed=True)
    elif file_ids is not None:
        files = MediaFile.objects.filter(
            owner_id=owner_id, id__in=parse_ids(file_ids), trashed_at__isnull=not on_trashed
        )
    elif on_trashed:
        files = files_in_scope(owner_id, q=q, trashed=True)
        if folder_id is not None:
            files = files.filter(trashed_from_id=folder_id)
    else:
        if folder_id is not None and not get_owned_folder_or_none(owner_id, folder_id):
            raise SelectionNotFound("Folder not found.")
        files = files_in_scope(owner_id, folder_id, q=q)
    field_name, descending = SORTS.get(sort, SORTS["name"])
    if field_name == "trashed_at" and not on_trashed:
        field_name = "name"
    prefix = "-" if descending else ""
    return files.order_by(f"{prefix}{field_name}", f"{prefix}id").values_list("id", flat=True)


def get_owned_folder_or_none(owner_id, folder_id):
    try:
        return get_owned_folder(owner_id, int(folder_id))
    except (FolderError, TypeError, ValueError):
        return None


def job_params(owner_id, action, *, target_folder_id=None, pattern=None, name=None, file_count=None):
    """The job parameters of an action, or SelectionError with a message for the form or the API.

    move/copy: the owner's target folder (None or "" = the root). rename: a pattern such as
    "trip-{n:03}{ext}", or `name` to rename a single file to exactly that name; a pattern without
    a field gives every file the same name, so it renames one file only.
    """
    params = {}
    if action in TARGET_ACTIONS:
        target = None
        if target_folder_id not in (None, ""):
            target = get_owned_folder_or_none(owner_id, target_folder_id)
            if target is None:
                raise SelectionError("The target folder does not exist. Choose a folder of your library.")
        params["target_folder_id"] = target.pk if target else None
    if action == "rename":
        if name is not None and not pattern:
            if file_count != 1:
                raise SelectionError("A single name renames one file; give a pattern for several.")
            pattern = exact_name_pattern(name)
        pattern = (pattern or "").strip()
        if not pattern:
            raise SelectionError("Enter a name pattern, e.g. trip-{n:03}{ext}.")
        try:
            compile_pattern(pattern)  # the very check the rename job applies: no surprises later
        except OperationError as exc:
            raise SelectionError(str(exc)) from None
        if file_count != 1 and not any(field for _, field, _, _ in string.Formatter().parse(pattern)):
            raise SelectionError(
                "The pattern needs {n}, {n:03}, {name}, {stem} or {ext}, or every file gets the same name."
            )
        params["pattern"] = pattern
    return params
