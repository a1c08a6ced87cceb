"""Which files a bulk action of the API means (listings live in media_library.listing).

A selection is resolved on the server, never trusted from the client: explicit `file_ids`, or a
`folder_id` meaning "all N in this folder" — the files directly in it, exactly what its listing
shows (optionally narrowed by the same name filter `q`), not the files of its subfolders. Ids of
other owners and files in the wrong state for the action are dropped silently (never revealed).
"""

from media_library.models import MediaFile

LIVE_ACTIONS = frozenset({"trash", "move", "copy", "rename", "thumbnails"})
TRASHED_ACTIONS = frozenset({"restore", "delete", "empty_trash"})
MAX_EXPLICIT_IDS = 20_000  # beyond this a client selects the folder instead (one id per file in JSON)


class SelectionError(ValueError):
    """The selection itself is malformed (the message is safe to show)."""


def files_for_action(owner_id, action):
    """The owner's files an action may apply to: live ones, or trashed ones for restore/delete."""
    if action in LIVE_ACTIONS:
        return MediaFile.objects.filter(owner_id=owner_id, trashed_at__isnull=True)
    if action in TRASHED_ACTIONS:
        return MediaFile.objects.filter(owner_id=owner_id, trashed_at__isnull=False)
    raise SelectionError(f"Unknown action {action!r}.")


def resolve_selection(owner_id, action, *, file_ids=None, folder_id=None, q=""):
    """A queryset of the ids an action applies to, ordered by (name, id); nothing is loaded yet.

    `folder_id` selects the files directly in that folder for live actions, and the files trashed
    from it for restore/delete; it is the owner's folder or the selection is empty.
    """
    if (file_ids is None) == (folder_id is None):
        raise SelectionError("Give either file_ids or folder_id.")
    files = files_for_action(owner_id, action)
    if file_ids is not None:
        try:
            ids = {int(pk) for pk in file_ids}
        except (TypeError, ValueError):
            raise SelectionError("file_ids must be a list of integers.") from None
        if len(ids) > MAX_EXPLICIT_IDS:
            raise SelectionError(f"Select at most {MAX_EXPLICIT_IDS} files by id, or select the folder.")
        files = files.filter(pk__in=ids)
    elif action in TRASHED_ACTIONS:
        files = files.filter(trashed_from_id=folder_id)
    else:
        files = files.filter(folder_id=folder_id)
    if q:
        files = files.filter(name__icontains=q)
    return files.order_by("name", "id").values_list("id", flat=True)
