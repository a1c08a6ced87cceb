"""Creating folders with a correct materialised path, race-safe on the unique-name constraints.

Two ways to ask for a folder by name under a parent:
- `child_folder`: reuse the live folder of that name if there is one (folder uploads, restore);
- `create_folder`: always a new folder, renamed "name (2)" on conflict (the "New folder" button).
"""

from django.db import IntegrityError, transaction

from media_library.models import Folder
from media_library.naming import NameAllocator, folder_names, safe_display_name

NAME_RETRIES = 20  # each lost race means another writer won: enough for 20 at once


def _insert_folder(owner, parent, name):
    """Insert one folder and set its path "/<ancestor ids>/<own id>/" (needs the new id)."""
    with transaction.atomic():
        folder = Folder.objects.create(
            owner=owner, parent=parent, name=name, depth=parent.depth + 1 if parent else 0
        )
        folder.path = f"{parent.path if parent else '/'}{folder.pk}/"
        folder.save(update_fields=["path"])
    return folder


def child_folder(owner, parent, name):
    """The owner's folder called `name` (already safe) under `parent` (None = root), created if absent."""
    existing = Folder.objects.filter(owner=owner, parent=parent, name=name).first()
    if existing is not None:
        return existing
    try:
        return _insert_folder(owner, parent, name)
    except IntegrityError:
        # Someone created it between our read and our insert: theirs is the one to use.
        return Folder.objects.get(owner=owner, parent=parent, name=name)


def create_folder(owner, parent, raw_name, default="New folder"):
    """A new folder under `parent`, its name made safe and de-conflicted ("Trip (2)")."""
    wanted = safe_display_name(raw_name, default=default)
    parent_id = parent.pk if parent else None
    for _attempt in range(NAME_RETRIES):
        name = NameAllocator(folder_names(owner.pk, parent_id)).allocate([wanted])[0]
        try:
            return _insert_folder(owner, parent, name)
        except IntegrityError:
            continue  # the name was taken meanwhile: look again
    raise IntegrityError(f"could not find a free folder name for {wanted!r}")


class FolderPathResolver:
    """Turns an upload's `relative_path` into a folder under a base folder, creating what's missing.

    Caches folders by (parent id, name) so a folder upload of 1,000 files in a few directories
    costs a few queries, not a few per file.
    """

    MAX_DEPTH = 32

    def __init__(self, owner):
        self.owner = owner
        self._cache = {}

    def resolve(self, base, relative_path):
        parts = directory_parts(relative_path)
        if len(parts) > self.MAX_DEPTH:
            raise ValueError(f"The relative path is deeper than {self.MAX_DEPTH} folders.")
        folder = base
        for part in parts:
            key = (folder.pk if folder else None, part)
            if key not in self._cache:
                self._cache[key] = child_folder(self.owner, folder, part)
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
