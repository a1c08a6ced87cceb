"""Selectors: which files a bulk action means, and keyset-paginated listings of a folder or the trash.

A selection is resolved on the server, never trusted from the client: explicit `file_ids`, or a
`folder_id` meaning "all N in this folder" — the files directly in it, exactly what its listing
shows (optionally narrowed by the same name filter `q`), not the files of its subfolders. Ids of
other owners and files in the wrong state for the action are dropped silently (never revealed).
"""

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from media_library.models import MediaFile

LIVE_ACTIONS = frozenset({"trash", "move", "copy", "rename", "thumbnails"})
TRASHED_ACTIONS = frozenset({"restore", "delete", "empty_trash"})
MAX_EXPLICIT_IDS = 20_000  # beyond this a client selects the folder instead (one id per file in JSON)
PAGE_SIZE = 100
SORT_KEYS = {"name": "name", "created": "created", "size": "size", "trashed": "trashed_at"}


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


@dataclass
class Page:
    files: list
    next_cursor: str | None


def _encode_cursor(value, pk):
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor, sort):
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if sort in ("created", "trashed"):
            value = datetime.fromisoformat(value)
        elif sort == "size":
            value = int(value)
        else:
            value = str(value)
        return value, int(pk)
    except (ValueError, TypeError):
        raise SelectionError("Invalid cursor.") from None


def list_files(owner_id, folder_id=None, *, trashed=False, sort="name", descending=False, q="", cursor=None,
               limit=PAGE_SIZE):  # fmt: skip
    """One page of the owner's files in a folder (None = the root) or in the trash.

    Keyset pagination on (sort key, id) served by the listing indexes: page 1,000 costs what page
    1 costs. The condition `key >= v AND (key > v OR id > last)` keeps the index range scan that a
    bare OR would lose on SQLite.
    """
    if sort not in SORT_KEYS or (sort == "trashed" and not trashed):
        raise SelectionError(f"Unknown sort {sort!r}.")
    key = SORT_KEYS[sort]
    files = MediaFile.objects.filter(owner_id=owner_id)
    if trashed:
        files = files.filter(trashed_at__isnull=False)
    else:
        files = files.filter(folder_id=folder_id, trashed_at__isnull=True)
    if q:
        files = files.filter(name__icontains=q)
    if cursor:
        value, pk = _decode_cursor(cursor, sort)
        after, at_least = ("lt", "lte") if descending else ("gt", "gte")
        files = files.filter(
            Q(**{f"{key}__{at_least}": value}), Q(**{f"{key}__{after}": value}) | Q(**{f"id__{after}": pk})
        )
    order = [f"-{key}", "-id"] if descending else [key, "id"]
    rows = list(files.select_related("blob").order_by(*order)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode_cursor(getattr(rows[-1], key), rows[-1].pk)
    return Page(rows, next_cursor)
