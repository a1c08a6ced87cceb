"""The one place that decides a file's or folder's name.

`safe_display_name` turns whatever a client sent into a name that is safe to show and store;
`resolve_conflicting_name` picks "photo (2).jpg", "photo (3).jpg"… the way desktop file managers
do; `NameAllocator` does both for a whole batch against one folder with a bounded number of
queries. Every create, copy, move, rename and restore goes through here.
"""

import hashlib
import re
import unicodedata

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from media_library.sql import ValuesIn

MAX_NAME_LENGTH = 255
MAX_EXTENSION_LENGTH = 16
DEFAULT_NAME = "untitled"
# Unicode categories that have no business in a file name: controls (NUL, newlines), format
# characters (bidi overrides such as U+202E that disguise "gpj.exe" as "exe.jpg", zero-width
# joiners), surrogates, private use and unassigned code points.
_STRIP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
_COUNTER = re.compile(r"^(?P<stem>.*?) \((?P<n>\d+)\)$")
NAME_RETRIES = 20  # each lost race on a unique name means another writer won: enough for 20 at once


class NoFreeName(IntegrityError):
    """Every attempt to insert under a free name lost its race on the unique-name constraint."""


def insert_under_free_name(insert, on_conflict=None, retries=NAME_RETRIES):
    """`insert()` (which picks a free name and creates a row) until it wins the name; its result.

    Each attempt runs in a savepoint, so a lost race (IntegrityError) leaves the caller's
    transaction usable; `on_conflict()` then forgets what the lost attempt believed was free.
    """
    for _attempt in range(retries):
        try:
            with transaction.atomic():
                return insert()
        except IntegrityError:
            if on_conflict is not None:
                on_conflict()
    raise NoFreeName("could not find a free name")


def split_extension(name):
    """'photo.tar.jpg' -> ('photo.tar', '.jpg'); names without a real extension keep it all."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext or len(ext) + 1 > MAX_EXTENSION_LENGTH or " " in ext:
        return name, ""
    return stem, "." + ext


def bound_length(stem, ext, limit=MAX_NAME_LENGTH):
    """Cut the stem (never the extension) so that stem + ext fits in `limit` characters."""
    return (stem[: max(1, limit - len(ext))] + ext).strip()


def safe_display_name(raw, default=DEFAULT_NAME):
    """A safe, normalised display name for anything a client calls a file or folder name."""
    text = str(raw or "")
    if not (text.isascii() and text.isprintable()):  # printable ASCII has none of those categories
        text = "".join(ch for ch in text if unicodedata.category(ch) not in _STRIP_CATEGORIES)
    # Path parts are dropped whichever separator the client used: "../../etc/passwd" -> "passwd".
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())  # collapse runs of white space, trim both ends
    text = text.rstrip(". ")  # trailing dots and spaces are invisible and refused by Windows
    if text in {"", ".", ".."}:
        return default
    stem, ext = split_extension(text)
    return bound_length(stem, ext)


def base_of(name):
    """'photo (3).jpg' -> ('photo', '.jpg'): the stem without a conflict counter."""
    stem, ext = split_extension(name)
    match = _COUNTER.match(stem)
    return (match.group("stem") if match and match.group("stem") else stem), ext


def numbered(stem, ext, n):
    suffix = f" ({n})"
    return bound_length(stem[: max(1, MAX_NAME_LENGTH - len(ext) - len(suffix))] + suffix, ext)


def resolve_conflicting_name(name, taken):
    """`name` if it is free in `taken`, else the first free 'stem (n).ext' with n >= 2."""
    if name not in taken:
        return name
    stem, ext = base_of(name)
    n = 2
    while (candidate := numbered(stem, ext, n)) in taken:
        n += 1
    return candidate


class CaseInsensitiveNames:
    """The names taken in one directory of a ZIP, compared as the file systems it is unpacked on
    (Windows, macOS) compare them: "Photo.jpg" takes "photo.jpg". `claim` picks the first free
    name through resolve_conflicting_name ("photo (2).jpg") and reserves it."""

    def __init__(self, names=()):
        self._keys = {self._key(name) for name in names}

    @staticmethod
    def _key(name):
        return unicodedata.normalize("NFC", name).casefold()

    def __contains__(self, name):
        return self._key(name) in self._keys

    def claim(self, wanted):
        name = resolve_conflicting_name(wanted, self)
        self._keys.add(self._key(name))
        return name


class NameAllocator:
    """Hands out free names in one folder (or the root) for a batch, with few queries.

    `names_queryset` is the set of rows whose `name` is taken in the target, e.g. the owner's live
    files of a folder. Exact names are checked in one query; only stems that collide are then
    looked up by prefix, in groups, so a 500-name batch costs a handful of queries whatever the
    size of the folder.
    """

    PREFIX_GROUP = 50

    def __init__(self, names_queryset):
        self.queryset = names_queryset
        self.taken = set()
        self._loaded_stems = set()

    def allocate(self, wanted):
        """Return free names for `wanted` (already safe names), in order, reserving each."""
        wanted = list(wanted)
        fresh = {name for name in wanted if name not in self.taken}
        if fresh:
            self.taken.update(self.queryset.filter(ValuesIn("name", fresh)).values_list("name", flat=True))
        seen, collide = set(), set()
        for name in wanted:
            if name in self.taken or name in seen:
                collide.add(base_of(name))
            seen.add(name)
        self._load_prefixes({stem for stem, _ext in collide} - self._loaded_stems)
        result = []
        for name in wanted:
            chosen = resolve_conflicting_name(name, self.taken)
            self.taken.add(chosen)
            result.append(chosen)
        return result

    def _load_prefixes(self, stems):
        stems = sorted(stems)
        for start in range(0, len(stems), self.PREFIX_GROUP):
            group = stems[start : start + self.PREFIX_GROUP]
            condition = Q()
            for stem in group:
                condition |= Q(name__startswith=stem)
            self.taken.update(self.queryset.filter(condition).values_list("name", flat=True))
        self._loaded_stems.update(stems)


def lock_names(owner_id, folder_ids):
    """Hold name allocation in these folders (None = the root) until the transaction ends.

    On PostgreSQL chunks run in parallel: two that allocate names in one folder, each from its own
    snapshot, would both pick "photo (2).jpg" and one would fail on the unique live-name index. A
    transaction-scoped advisory lock per (owner, folder), taken in one fixed order (two operations
    locking several folders never wait on each other in a circle), makes the second wait and then
    see the first one's names. SQLite serialises writers already: nothing to do there. Call it
    inside the operation's transaction, before reading the names taken.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted({_name_lock_key(owner_id, folder_id) for folder_id in folder_ids})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _name_lock_key(owner_id, folder_id):
    digest = hashlib.blake2b(f"mediaflow-names:{owner_id}:{folder_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # advisory locks take a signed 64-bit key


def live_file_names(owner_id, folder_id):
    """The queryset of names taken by live files in a folder (None = the root)."""
    from media_library.models import MediaFile

    return MediaFile.objects.live().filter(owner_id=owner_id, folder_id=folder_id)


def folder_names(owner_id, parent_id):
    from media_library.models import Folder

    return Folder.objects.filter(owner_id=owner_id, parent_id=parent_id)
