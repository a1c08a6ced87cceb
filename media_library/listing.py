"""Selectors that read what the file manager shows: keyset file listings, the folder tree, breadcrumbs.

Every function here issues a bounded number of queries whatever the size of the folder: listings
use keyset pagination (never OFFSET), so page 1 and page 1,000 of a 100,000-file folder cost the
same. The same `files_in_scope` builds the listing and resolves a "select all in this folder"
selection, so a selection always means exactly what the user sees (the active filter included).
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Q

from media_library.models import Folder, MediaFile

# sort key -> (model field, descending?). "trashed" only makes sense in the Trash view.
SORTS = {
    "name": ("name", False),
    "-name": ("name", True),
    "created": ("created", False),
    "-created": ("created", True),
    "size": ("size", False),
    "-size": ("size", True),
    "trashed": ("trashed_at", False),
    "-trashed": ("trashed_at", True),
}
FOLDER_SORTS = ("name", "-name", "created", "-created", "size", "-size")
TRASH_SORTS = (*FOLDER_SORTS, "trashed", "-trashed")
DATETIME_FIELDS = {"created", "trashed_at"}
MAX_LIMIT = 500
# A cursor carries the last row's sort key: for a name, up to 255 characters of any script, 4
# bytes each in UTF-8 at worst (~1,400 characters of base64 with the rest); the API and the pages
# accept this much, so every cursor the listing hands out comes back valid.
MAX_CURSOR_LENGTH = 2048
# Only the columns the grid, list and trash rows show: no wide rows pulled for 100 tiles.
ROW_FIELDS = (
    "id",
    "name",
    "size",
    "created",
    "folder_id",
    "trashed_at",
    "trashed_from_id",
    "trashed_from_path",
    "blob__width",
    "blob__height",
    "blob__format",
    "blob__sha256",
    "blob__thumbnail_status",
)
MAX_TREE_NODES = 500  # per level of the sidebar tree: a folder with more children shows "more…"
MAX_PICKER_FOLDERS = 2000


class InvalidCursor(ValueError):
    """A cursor that this listing did not hand out (tampered, or from another sort)."""


def normalise_query(q):
    return " ".join(str(q or "").split())[:200]


def files_in_scope(owner_id, folder_id=None, *, q="", trashed=False):
    """The owner's files a view shows: live files of one folder (None = root), or the trash.

    `q` filters by name substring (case-insensitive). This is also the server-side resolution of
    "select all N in this folder": the same filter, never the browser's list of ids.
    """
    files = MediaFile.objects.filter(owner_id=owner_id)
    if trashed:
        # Trashed files have no folder: saying so lets the (owner, folder, key, id) indexes serve
        # the trash's name/date/size orders too.
        files = files.trashed().filter(folder__isnull=True)
    else:
        files = files.live().filter(folder_id=folder_id)
    q = normalise_query(q)
    if q:
        files = files.filter(name__icontains=q)
    return files


def files_in_tree(owner_id, folder=None, *, q=""):
    """The owner's live files in `folder` and all its subfolders (None: the whole library)."""
    files = MediaFile.objects.live().filter(owner_id=owner_id)
    if folder is not None:
        files = files.filter(folder__path__startswith=folder.path)
    q = normalise_query(q)
    if q:
        files = files.filter(name__icontains=q)
    return files


def count_files(owner_id, folder_id=None, *, q="", trashed=False):
    return files_in_scope(owner_id, folder_id, q=q, trashed=trashed).count()


def encode_cursor(sort, row):
    field_name, _ = SORTS[sort]
    value = getattr(row, field_name)
    if isinstance(value, datetime):
        value = value.isoformat()
    # UTF-8, not \uXXXX escapes: a Korean or Cyrillic name costs 2-3 bytes a character, not 6.
    payload = json.dumps({"s": sort, "v": value, "id": row.id}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(sort, cursor):
    """(value, id) of the last row of the previous page; InvalidCursor if it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if data["s"] != sort or not _is_stored_int(data["id"]):
            raise InvalidCursor("cursor does not belong to this sort order")
        field_name, _ = SORTS[sort]
        value = data["v"]
        if field_name in DATETIME_FIELDS:
            # As UTC, as the database compares it: a date near the ends of the calendar with an
            # offset (0001-01-01T00:00+14:00) has no UTC value and fails here, not in the query.
            value = datetime.fromisoformat(value).astimezone(UTC)
        elif field_name == "size" and not _is_stored_int(value):
            raise InvalidCursor("bad size in cursor")
        elif field_name == "name" and not isinstance(value, str):
            raise InvalidCursor("bad name in cursor")
        return value, data["id"]
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("invalid cursor") from exc


def _is_stored_int(value):
    """An integer a BIGINT column holds (not a bool, not beyond 64 bits)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def after_cursor(field_name, descending, value, last_id):
    """Rows strictly after (value, last_id) in (field, id) order.

    Written as `field >= v AND (field > v OR id > last)` rather than a bare OR, so the database
    starts an index range at `v` instead of scanning the folder from its first row.
    """
    if descending:
        return Q(**{f"{field_name}__lte": value}) & (Q(**{f"{field_name}__lt": value}) | Q(id__lt=last_id))
    return Q(**{f"{field_name}__gte": value}) & (Q(**{f"{field_name}__gt": value}) | Q(id__gt=last_id))


def keyset_page(rows, sort="name", cursor=None, limit=100):
    """One page of `rows` (files, or folders by name) in (sort key, id) order, and the next cursor.

    Never OFFSET: the cursor carries the last row's (key, id) and the query seeks just past it,
    so page 1,000 costs what page 1 costs.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    field_name, descending = SORTS[sort]
    if cursor:
        value, last_id = decode_cursor(sort, cursor)
        rows = rows.filter(after_cursor(field_name, descending, value, last_id))
    prefix = "-" if descending else ""
    page = list(rows.order_by(f"{prefix}{field_name}", f"{prefix}id")[: limit + 1])
    next_cursor = encode_cursor(sort, page[limit - 1]) if len(page) > limit else None
    return page[:limit], next_cursor


def list_files(owner_id, folder_id=None, *, sort="name", q="", trashed=False, cursor=None, limit=100):
    """One page of files in (sort key, id) order and the cursor of the next page (None at the end)."""
    if sort not in (TRASH_SORTS if trashed else FOLDER_SORTS):
        raise ValueError(f"unknown sort {sort!r}")
    files = files_in_scope(owner_id, folder_id, q=q, trashed=trashed).select_related("blob").only(*ROW_FIELDS)
    return keyset_page(files, sort, cursor, limit)


def breadcrumb(owner_id, folder):
    """The folder's ancestors from the top, then the folder itself (one query)."""
    if folder is None:
        return []
    ancestors = Folder.objects.filter(owner_id=owner_id, id__in=folder.ancestor_ids()).only(
        "id", "name", "depth"
    )
    return sorted(ancestors, key=lambda f: f.depth)


@dataclass
class TreeNode:
    folder: Folder
    children: list = field(default_factory=list)
    is_open: bool = False
    is_current: bool = False
    truncated: bool = False


def folder_tree(owner_id, current=None):
    """The sidebar tree: top-level folders, opened along the path to `current` and one level below.

    One query: the children of the root, of each ancestor and of `current` — bounded by the depth
    of the path times MAX_TREE_NODES, never the owner's whole tree. Built in one pass, without
    recursion, whatever the depth.
    """
    open_ids = current.ancestor_ids() if current else []
    folders = (
        Folder.objects.filter(owner_id=owner_id)
        .filter(Q(parent__isnull=True) | Q(parent_id__in=open_ids))
        .only("id", "name", "parent_id", "depth")
        .order_by("depth", "name", "id")
    )
    open_set = set(open_ids)
    top, nodes = [], {}
    # By depth, so a folder's parent has its node before the folder is met; by name among siblings.
    for folder in folders[: MAX_TREE_NODES * (len(open_ids) + 1)]:
        parent = nodes.get(folder.parent_id)
        siblings = top if folder.parent_id is None else parent.children if parent else None
        if siblings is None or len(siblings) >= MAX_TREE_NODES:
            continue
        node = TreeNode(
            folder=folder,
            is_open=folder.id in open_set,
            is_current=current is not None and folder.id == current.id,
        )
        siblings.append(node)
        if node.is_open:
            nodes[folder.id] = node
    return top


@dataclass
class TreeRow:
    """One folder of the tree as the template writes it, in document order."""

    node: TreeNode
    level: int  # 1 for a top-level folder
    opens_group: bool = False  # its children follow, inside its own <ul role="group">
    closes: int = 0  # how many groups (and their parents' items) end after this row

    @property
    def closing(self):
        return range(self.closes)


def tree_rows(nodes):
    """The tree flattened depth-first, with where each nested group opens and ends, so a template
    writes any depth with one loop (a recursive include stops at Django's recursion limit)."""
    rows, pending = [], [iter(nodes)]  # the open groups, each with the nodes it has left
    while pending:
        node = next(pending[-1], None)
        if node is None:
            pending.pop()
            if pending:
                rows[-1].closes += 1  # the outermost group is the template's own
            continue
        row = TreeRow(node=node, level=len(pending), opens_group=bool(node.children))
        rows.append(row)
        if row.opens_group:
            pending.append(iter(node.children))
    return rows


def subfolders(owner_id, folder_id=None, *, q="", limit=MAX_TREE_NODES):
    """Child folders shown as tiles above the files (filtered by the same name substring)."""
    folders = Folder.objects.filter(owner_id=owner_id, parent_id=folder_id).only("id", "name", "parent_id")
    q = normalise_query(q)
    if q:
        folders = folders.filter(name__icontains=q)
    return list(folders.order_by("name", "id")[:limit])


def folder_choices(owner_id, *, exclude_subtree_of=None):
    """(id, "A / B / C") for a folder picker, sorted by that label; at most MAX_PICKER_FOLDERS.

    `exclude_subtree_of` leaves out a folder and its descendants (a folder cannot move into itself).
    """
    folders = Folder.objects.filter(owner_id=owner_id).only("id", "name", "path")
    if exclude_subtree_of is not None:
        folders = folders.exclude(path__startswith=exclude_subtree_of.path)
    folders = list(folders.order_by("depth", "name", "id")[:MAX_PICKER_FOLDERS])
    names = {f.id: f.name for f in folders}

    def label(folder):
        return " / ".join(names.get(i, "…") for i in folder.ancestor_ids())

    return sorted(((f.id, label(f)) for f in folders), key=lambda choice: choice[1].casefold())
