"""Folder services: whose folder it is; create, rename, move (with the whole subtree), trash.

A folder's `path` is materialised ("/4/17/23/": its ancestors' ids and its own), so a subtree is
one `path LIKE '/4/17/%'` and moving one is a single UPDATE of that prefix, whatever its size.
Every folder name goes through `naming` and is de-conflicted among its live siblings; folder
uploads turn each file's relative path into folders here too (FolderPathResolver).
"""

import json

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Value, When
from django.db.models.functions import Concat, Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import ngettext

from media_library.models import Folder, MediaFile
from media_library.naming import NameAllocator, folder_names, insert_under_free_name, safe_display_name

MAX_ID = 2**63 - 1  # the largest primary key the databases store (a bigger number is no folder's)
# How many folders deep a library goes (a top-level folder is level 1, Folder.depth 0): the one
# cap for new folders, folder uploads' relative paths and moves. It keeps a page's breadcrumb,
# tree and `path` (ids of every ancestor) bounded.
MAX_FOLDER_DEPTH = 32


class FolderError(ValueError):
    """A folder operation that cannot be done as asked (the message is safe to show)."""


class FolderTooDeep(FolderError):
    """A folder would be nested deeper than MAX_FOLDER_DEPTH."""

    def __init__(self):
        super().__init__(
            ngettext(
                "Folders can be nested at most %(max)d level deep.",
                "Folders can be nested at most %(max)d levels deep.",
                MAX_FOLDER_DEPTH,
            )
            % {"max": MAX_FOLDER_DEPTH}
        )


def levels_below(parent):
    """How many more levels of folders fit under `parent` (None = the library root)."""
    return MAX_FOLDER_DEPTH - (parent.depth + 1 if parent is not None else 0)


def check_room(parent, levels=1):
    """FolderTooDeep unless `levels` more levels of folders fit under `parent`."""
    if levels > levels_below(parent):
        raise FolderTooDeep


class FolderNotFound(FolderError, Http404):
    """Not a folder of this owner: missing, someone else's (never revealed) or not an id at all.

    It is also an Http404, so a page that asks for a folder answers 404 without translating.
    """


def owned_folder(owner_id, folder_id):
    """The owner's folder `folder_id` (an int or its text), None for None or "" (the root).

    The one ownership check for folders: pages, the API, selections, target folders and the
    operations all ask here. Raises FolderNotFound for anything that is not one of the owner's
    folders, so another user's folder reads exactly like a missing one.
    """
    if folder_id is None or folder_id == "":
        return None
    try:
        pk = int(folder_id)
    except (TypeError, ValueError):
        raise FolderNotFound("Folder not found.") from None
    folder = Folder.objects.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if folder is None or folder.owner_id != owner_id:
        raise FolderNotFound("Folder not found.")
    return folder


def subtree(folder):
    """The folder and all its descendants."""
    return Folder.objects.filter(owner_id=folder.owner_id, path__startswith=folder.path)


def _free_name(owner_id, parent_id, wanted, exclude_id=None):
    siblings = folder_names(owner_id, parent_id)
    if exclude_id is not None:
        siblings = siblings.exclude(pk=exclude_id)
    return NameAllocator(siblings).allocate([safe_display_name(wanted, default="New folder")])[0]


def _set_path(folder, parent):
    folder.path = f"{parent.path if parent else '/'}{folder.pk}/"
    folder.depth = parent.depth + 1 if parent else 0
    Folder.objects.filter(pk=folder.pk).update(path=folder.path, depth=folder.depth)


def _insert_folder(owner_id, parent, name):
    """Insert one folder (in a savepoint, so a lost name race leaves the caller's transaction usable)."""
    check_room(parent)  # every new folder is inserted here
    with transaction.atomic():
        folder = Folder.objects.create(owner_id=owner_id, parent=parent, name=name)
        _set_path(folder, parent)  # the path holds the folder's own id, known only after INSERT
    return folder


@transaction.atomic
def create_folder(owner_id, parent_id, name):
    """A new folder under `parent_id` (None = the root); the name is de-conflicted ("a (2)")."""
    parent = owned_folder(owner_id, parent_id)
    # A name taken meanwhile is looked up again (NoFreeName, an IntegrityError, after 20 losses).
    return insert_under_free_name(
        lambda: _insert_folder(owner_id, parent, _free_name(owner_id, parent and parent.pk, name))
    )


def child_folder(owner_id, parent, name):
    """The owner's live folder called `name` (already safe) under `parent`, created if absent."""
    existing = Folder.objects.filter(owner_id=owner_id, parent=parent, name=name).first()
    if existing is not None:
        return existing
    try:
        return _insert_folder(owner_id, parent, name)
    except IntegrityError:
        # Someone created it between our read and our insert: theirs is the one to use.
        return Folder.objects.get(owner_id=owner_id, parent=parent, name=name)


@transaction.atomic
def rename_folder(owner_id, folder_id, name):
    folder = owned_folder(owner_id, folder_id)
    new_name = _free_name(owner_id, folder.parent_id, name, exclude_id=folder.pk)
    if new_name != folder.name:
        folder.name = new_name
        folder.save(update_fields=["name", "updated"])
    return folder


@transaction.atomic
def move_folder(owner_id, folder_id, new_parent_id):
    """Move a folder and its whole subtree under `new_parent_id` (None = the root) in 3-4 queries."""
    folder = owned_folder(owner_id, folder_id)
    parent = owned_folder(owner_id, new_parent_id)
    if parent is not None and parent.path.startswith(folder.path):
        raise FolderError("A folder cannot be moved into itself or one of its subfolders.")
    new_parent_id = parent.pk if parent else None
    if folder.parent_id == new_parent_id:
        return folder  # already there: moving twice is a no-op
    old_prefix = folder.path
    new_prefix = f"{parent.path if parent else '/'}{folder.pk}/"
    depth_delta = (parent.depth + 1 if parent else 0) - folder.depth
    if depth_delta > 0:  # the whole subtree moves down with it: its deepest folder must still fit
        deepest = subtree(folder).aggregate(deepest=Max("depth"))["deepest"]
        check_room(parent, levels=deepest - folder.depth + 1)
    folder.name = _free_name(owner_id, new_parent_id, folder.name, exclude_id=folder.pk)
    folder.parent = parent
    folder.save(update_fields=["name", "parent", "updated"])
    # One UPDATE rewrites the prefix of every descendant's path (and the folder's own).
    subtree_qs = Folder.objects.filter(owner_id=owner_id, path__startswith=old_prefix)
    subtree_qs.update(
        path=Concat(Value(new_prefix), Substr("path", len(old_prefix) + 1)),
        depth=F("depth") + depth_delta,
    )
    folder.path, folder.depth = new_prefix, folder.depth + depth_delta
    return folder


def names_by_folder(folder_ids):
    """{folder_id: [root name, ..., folder name]} for many folders in two queries."""
    if not folder_ids:
        return {}
    folders = list(Folder.objects.filter(pk__in=set(folder_ids)).values("pk", "path", "name"))
    ancestor_ids = {int(part) for row in folders for part in row["path"].strip("/").split("/") if part}
    names = dict(Folder.objects.filter(pk__in=ancestor_ids).values_list("pk", "name"))
    return {
        row["pk"]: [names.get(int(part), "") for part in row["path"].strip("/").split("/") if part]
        for row in folders
    }


def encode_trashed_path(names):
    """The JSON list stored in MediaFile.trashed_from_path; "" (restore to the root, or to
    trashed_from while it exists) for the root or for a chain too long for the column."""
    encoded = json.dumps(list(names), ensure_ascii=False) if names else ""
    return encoded if len(encoded) <= MediaFile._meta.get_field("trashed_from_path").max_length else ""


def decode_trashed_path(value):
    """The folder names stored by trash; an empty or unreadable value means the root."""
    try:
        names = json.loads(value) if value else []
    except ValueError:
        return []
    return [str(name) for name in names] if isinstance(names, list) else []


def ensure_folder_path(owner_id, parent_id, names):
    """The folder at `parent_id`/names[0]/names[1]/…, creating what is missing (2 queries a level).

    Used by restore (recreate a deleted origin folder). Names are made safe; an existing live
    folder of that name is reused, never duplicated. A chain deeper than MAX_FOLDER_DEPTH (trashed
    before the cap existed) stops at the cap: its files are restored into the deepest folder that
    fits rather than not at all. Returns None for an empty `names` with a None parent (the root).
    """
    parent = owned_folder(owner_id, parent_id)
    for raw in list(names)[: max(0, levels_below(parent))]:
        parent = child_folder(owner_id, parent, safe_display_name(raw, default="Folder"))
    return parent


@transaction.atomic
def trash_folder(owner_id, folder_id):
    """Trash every live file of a folder's subtree, remembering where each came from, then delete
    the folder rows. Returns the number of files trashed. A bounded number of queries: one UPDATE
    for all the files, one DELETE for the folders (plus Django's bookkeeping for related rows)."""
    folder = owned_folder(owner_id, folder_id)
    folders = subtree(folder)
    paths = names_by_folder(folders.values_list("pk", flat=True))
    files = MediaFile.objects.filter(owner_id=owner_id, folder__in=folders.values("pk"))
    count = files.live().update(
        trashed_at=timezone.now(),
        trashed_from=None,  # the folder is about to be deleted; restore recreates it from the path
        trashed_from_path=Case(
            *[When(folder_id=pk, then=Value(encode_trashed_path(names))) for pk, names in paths.items()],
            default=Value(""),
        ),
        folder=None,
        updated=timezone.now(),
    )
    # Files trashed earlier from inside this subtree keep their path; their folder link is cleared
    # here in one UPDATE so the DELETE needs no per-row bookkeeping.
    earlier = MediaFile.objects.filter(owner_id=owner_id, trashed_from__in=folders.values("pk"))
    earlier.update(trashed_from=None)
    Folder.objects.filter(pk__in=list(paths)).delete()
    return count


class FolderPathResolver:
    """Turns an upload's `relative_path` into a folder under a base folder, creating what's missing.

    Folders are found or created through child_folder (race-safe on the unique-name constraint),
    so concurrent uploads of one directory share one new folder. Caches folders by (parent id,
    name) so a folder upload of 1,000 files in a few directories costs a few queries, not a few
    per file.
    """

    def __init__(self, owner):
        self.owner = owner
        self._cache = {}

    def resolve(self, base, relative_path):
        parts = directory_parts(relative_path)
        if parts:
            check_room(base, levels=len(parts))  # before creating any: a too-deep path creates nothing
        folder = base
        for part in parts:
            key = (folder.pk if folder else None, part)
            if key not in self._cache:
                self._cache[key] = child_folder(self.owner.pk, folder, part)
            folder = self._cache[key]
        return folder


def directory_parts(relative_path):
    """Safe folder names from a client path such as "Trip/day 1/img.jpg" -> ["Trip", "day 1"].

    The last component is the file itself and is dropped. Separators of either kind split;
    empty parts, "." and ".." are dropped, so "../../x/a.jpg" and "/etc/a.jpg" stay inside the
    target folder ("x", "etc").
    """
    pieces = str(relative_path or "").replace("\\", "/").split("/")[:-1]
    parts = []
    for piece in pieces:
        if piece.strip() in {"", ".", ".."}:
            continue
        name = safe_display_name(piece, default="")
        if name:
            parts.append(name)
    return parts
