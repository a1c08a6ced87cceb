"""Reading a folder's files a page at a time: keyset pagination over (sort key, id), never OFFSET.

A page costs the same at the start of a 100,000-file folder as at its end: the query seeks
into the (owner, folder, key, id) index just after the last row of the previous page, which the
opaque cursor carries.
"""

import base64
import binascii
import json
from datetime import datetime

from django.db.models import Q

from media_library.models import MediaFile

SORT_KEYS = ("name", "created", "size")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class BadCursor(ValueError):
    pass


def encode_cursor(sort, value, pk):
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps({"s": sort, "v": value, "i": pk}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, sort):
    """(value, id) of the last row seen, for the same `sort` it was made with."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, pk = data["v"], int(data["i"])
        if data["s"] != sort:
            raise BadCursor("The cursor belongs to another sort order.")
        field = sort.lstrip("-")
        if field == "created":
            value = datetime.fromisoformat(value)
        elif field == "size":
            value = int(value)
        elif not isinstance(value, str):
            raise BadCursor("Invalid cursor.")
        return value, pk
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        if isinstance(exc, BadCursor):
            raise
        raise BadCursor("Invalid cursor.") from None


def files_queryset(owner, folder_id=None, trashed=False, q=""):
    """The owner's live files of one folder (None = root), or the owner's whole trash."""
    rows = MediaFile.objects.filter(owner=owner).select_related("blob")
    if trashed:
        # Trashed files have no folder, so the (owner, folder, name, id) index serves the trash too.
        rows = rows.filter(folder__isnull=True, trashed_at__isnull=False)
    else:
        rows = rows.filter(folder_id=folder_id, trashed_at__isnull=True)
    if q:
        rows = rows.filter(name__icontains=q)
    return rows


def keyset_page(rows, sort="name", cursor=None, limit=DEFAULT_PAGE_SIZE):
    """(rows, next_cursor) for one page of `rows` (files or folders) in `sort` order ("name", "-size"…)."""
    field = sort.lstrip("-")
    if field not in SORT_KEYS:
        raise BadCursor(
            f"Unknown sort {sort!r}; use one of {', '.join(SORT_KEYS)} (prefix - for descending)."
        )
    descending = sort.startswith("-")
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    if cursor:
        value, pk = decode_cursor(cursor, sort)
        after, at_least = ("lt", "lte") if descending else ("gt", "gte")
        # (key, id) > (value, pk), written as `key >= value AND (key > value OR id > pk)`: the
        # leading range lets SQLite seek into the index; a bare OR would make it scan from the start.
        rows = rows.filter(
            Q(**{f"{field}__{at_least}": value}),
            Q(**{f"{field}__{after}": value}) | Q(**{f"id__{after}": pk}),
        )
    order = [f"-{field}", "-id"] if descending else [field, "id"]
    page = list(rows.order_by(*order)[: limit + 1])
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1]
        next_cursor = encode_cursor(sort, getattr(last, field), last.pk)
    return page, next_cursor
