"""Which files a bulk action takes: the one server-side answer for the pages and the API.

A selection is resolved on the server, never trusted from the client, once: the posted fields
(the action bar's form or the API's body) become a Selection value, which the submit, the action
and the archive planner share. The fields name it with `scope`:

- "ids": the files ticked one by one, `file_ids` (a JSON list, or "1,2,3" from the pages' single
  form field). Ids of other owners and files in the wrong state for the action drop out silently
  (never revealed).
- "all": every file the view shows, from `folder_id` and the name filter `q`, exactly what its
  listing shows and never more (a select-all that ignored the filter deleted a whole library in
  another product). The one rule for `folder_id`: it must name one of the caller's folders
  (anything else is SelectionNotFound, a 404); an action on live files takes the live files
  directly in it (not its subfolders), an action on trashed files takes the trashed files that
  came from it. Without a folder_id, that is the library root, or the whole trash.
- "tree": the live files of `folder_id` and of all its subfolders, at any depth (matching `q`);
  without a folder_id, the whole library. Only actions that declare Scope.TREE in `scopes` take
  it (Download as ZIP, whose paths follow the tree).
- anything else names no files.

Actions that take the whole trash (empty trash) ignore all of this. The files come back in the
order the listing shows them for `sort`, so a rename's {n} numbers what the user sees.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import QuerySet

from media_library.folders import MAX_ID, FolderNotFound, owned_folder
from media_library.listing import SORTS, files_in_scope, files_in_tree
from media_library.models import Folder, MediaFile
from media_library.sql import IdList

# The pages send ticked ids in one comma-separated field; beyond this many, "Select all in this
# folder" is the way (a person does not tick more by hand). The API takes as many as fit in a
# request body (DATA_UPLOAD_MAX_MEMORY_SIZE).
MAX_TICKED_IDS = 10_000
_MAX_ID_DIGITS = len(str(MAX_ID))
NOTHING_ELIGIBLE = "None of the selected files can be used for this action."


class Takes(StrEnum):
    """Which files an action acts on."""

    LIVE = "live"  # ticked live files, or all the live files directly in a folder (with its filter)
    TRASHED = "trashed"  # ticked trashed files, or the trash (those trashed from a folder, if one is named)
    WHOLE_TRASH = "whole_trash"  # every trashed file of the owner, whatever is ticked or filtered


class Scope(StrEnum):
    """How a request names its files (the `scope` the pages post; the API's fields map onto it)."""

    IDS = "ids"  # ticked one by one
    FOLDER = "all"  # all N in a folder (with the listing's filter), or the trash
    TREE = "tree"  # a folder with all its subfolders


SCOPE_WORDS = {
    Scope.IDS: "files ticked one by one",
    Scope.FOLDER: "all the files of a folder",
    Scope.TREE: "a folder with its subfolders",
}


class SelectionError(ValueError):
    """The selection or the arguments cannot make a job; the message is safe to show."""


class SelectionNotFound(SelectionError):
    """The selection names a folder that is not the caller's (a 404: never reveal that it exists)."""


def parse_ids(raw, limit=None):
    """Sorted distinct file ids from a list (JSON) or from "1,2,3"; SelectionError for anything else.

    An id is a whole number the database can store (1 to 2**63 - 1): a bigger one is not "no
    such file" but a malformed request. `limit` caps how many (the pages' field).
    """
    if isinstance(raw, (list, tuple)):
        parts = raw
    else:
        text = str(raw or "")
        if limit is not None and len(text) > limit * (_MAX_ID_DIGITS + 1):
            raise _too_many(limit)
        parts = [part for part in text.split(",") if part.strip()]
    try:
        ids = {int(part.strip() if isinstance(part, str) else _whole(part)) for part in parts}
    except (TypeError, ValueError):
        raise SelectionError("The selection is not valid. file_ids must be a list of integers.") from None
    if ids and not (min(ids) > 0 and max(ids) <= MAX_ID):
        raise SelectionError(f"The selection is not valid. File ids are whole numbers from 1 to {MAX_ID}.")
    if limit is not None and len(ids) > limit:
        raise _too_many(limit)
    return sorted(ids)


def _whole(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _too_many(limit):
    return SelectionError(
        f"Too many files ticked one by one (over {limit:,}): use “Select all in this folder”."
    )


def _owned_folder(owner_id, folder_id):
    """The owner's Folder `folder_id` names (None: the root); SelectionNotFound for anything else."""
    try:
        return owned_folder(owner_id, folder_id)
    except FolderNotFound:
        raise SelectionNotFound("Folder not found.") from None


@dataclass(frozen=True)
class Selection:
    """The files a request names, as a value: checked, with its folder resolved, once.

    Built by `Selection.build` from the posted fields (the action bar's form or the API's JSON
    body). `files` is the lazy, ordered queryset of their ids; Download as ZIP names its archive
    after `folder` without asking the database again.
    """

    owner_id: int
    takes: Takes
    scope: Scope | None  # None: the whole trash (Takes.WHOLE_TRASH), whatever was posted
    files: QuerySet = field(compare=False, repr=False)  # the ids, in listing order (lazy)
    file_ids: tuple[int, ...] = ()  # Scope.IDS: sorted, distinct
    folder: Folder | None = None  # Scope.FOLDER / Scope.TREE: the owner's folder, None for the root
    q: str = ""
    sort: str = "name"

    @classmethod
    def build(cls, owner_id, action, data, *, max_ticked=None):
        """The selection `data` (a mapping with scope, file_ids, folder_id, q and sort) names for
        `action`. SelectionError when it names no files; SelectionNotFound for a folder that is
        not the owner's. `max_ticked` caps the ids ticked one by one (the pages)."""
        takes, sort = action.takes, data.get("sort") or "name"
        scope, q, ids, folder = data.get("scope"), data.get("q", ""), (), None
        if takes == Takes.WHOLE_TRASH:
            scope, q = None, ""
            files = files_in_scope(owner_id, trashed=True)
        elif scope in SCOPE_WORDS and scope not in action.scopes:
            raise SelectionError(f"{action.label} does not take {SCOPE_WORDS[scope]}.")
        elif scope == Scope.IDS:
            ids = tuple(parse_ids(data.get("file_ids"), max_ticked))
            if not ids:
                raise SelectionError("No files selected.")
            state = MediaFile.objects.live() if takes == Takes.LIVE else MediaFile.objects.trashed()
            files = state.filter(IdList(ids), owner_id=owner_id)
        elif scope == Scope.FOLDER:
            folder = _owned_folder(owner_id, data.get("folder_id"))
            if takes == Takes.LIVE:
                files = files_in_scope(owner_id, folder.pk if folder else None, q=q)
            else:
                files = files_in_scope(owner_id, q=q, trashed=True)
                if folder is not None:
                    files = files.filter(trashed_from_id=folder.pk)
        elif scope == Scope.TREE:
            folder = _owned_folder(owner_id, data.get("folder_id"))
            files = files_in_tree(owner_id, folder, q=q)
        else:
            raise SelectionError("No files selected.")
        scope = Scope(scope) if scope else None
        files = _ordered(files, takes, sort)
        return cls(owner_id, takes, scope, files, file_ids=ids, folder=folder, q=q, sort=sort)


def _ordered(files, takes, sort):
    """The ids of `files` in the listing's order for `sort` (by name when it makes no sense)."""
    field_name, descending = SORTS.get(sort, SORTS["name"])
    if field_name == "trashed_at" and takes == Takes.LIVE:
        field_name = "name"
    prefix = "-" if descending else ""
    return files.order_by(f"{prefix}{field_name}", f"{prefix}id").values_list("id", flat=True)


def resolve(owner_id, action, data, *, max_ticked=None):
    """The ids of the owner's files `action` takes for the posted fields `data`, in listing order
    (the files of Selection.build)."""
    return Selection.build(owner_id, action, data, max_ticked=max_ticked).files


def nothing_to_do(action):
    """What to say when the selection holds no file the action can take."""
    return "The trash is empty." if action.takes == Takes.WHOLE_TRASH else NOTHING_ELIGIBLE
