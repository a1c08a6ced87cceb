"""Folder uploads: turning each file's `relative_path` into folders under the target folder.

Folders are found or created through media_library.folders.child_folder (race-safe on the
unique-name constraint), so concurrent uploads of one directory share one new folder.
"""

from media_library.folders import child_folder
from media_library.naming import safe_display_name


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
