"""The bulk actions of the file manager: what the action bar offers, and one job per submit.

A selection is either explicit ids (files the user ticked) or "all" — every file the view shows:
a folder with its active name filter, or the trash with its filter. Both are resolved on the
server by `media_library.selection` (the same resolver as the JSON API), never from a list the
browser holds. Each action is a small declarative record.
"""

from dataclasses import dataclass

from django.utils.translation import ngettext

from media_library import selection
from media_library.selection import SelectionError


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


def get_action(name):
    try:
        return ACTIONS[name]
    except KeyError:
        raise SelectionError("Unknown action.") from None


def resolve_selection(owner_id, action, *, scope="ids", file_ids=None, folder_id=None, q="", sort="name"):
    """The ids of the owner's files the action will touch, in the order the user sees them.

    scope "ids": the ticked ids ("1,2,3"); scope "all": every file of the folder (None = the
    root) matching the name filter `q` — or of the trash, for the actions on trashed files.
    """
    spec = get_action(action) if isinstance(action, str) else action
    if scope == "ids":
        return selection.resolve_selection(owner_id, spec.name, file_ids=file_ids or "", sort=sort)
    if scope != "all":
        raise SelectionError("The selection is not valid.")
    # The trash view is one list (the whole trash), whatever folder the page was opened from.
    folder_id = None if spec.on_trashed else folder_id
    return selection.resolve_selection(owner_id, spec.name, folder_id=folder_id, q=q, sort=sort)


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
    files = resolve_selection(
        owner.pk, spec, scope=scope, file_ids=file_ids, folder_id=folder_id, q=q, sort=sort
    )
    ids = list(files)
    if not ids:
        raise SelectionError("The trash is empty." if spec.whole_trash else "No files selected.")
    params = selection.job_params(
        owner.pk, spec.name, target_folder_id=target_folder_id, pattern=pattern, file_count=len(ids)
    )
    from jobs import submit  # the jobs engine (issue 4); imported here so this module loads alone

    job = submit(spec.kind, owner, ids, params=params)
    return job, len(ids)
