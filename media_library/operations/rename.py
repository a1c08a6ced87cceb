"""Rename one file, or many with a pattern such as "trip-{n:03}{ext}".

Patterns are validated before anything runs: only the fields {n} (the file's 1-based position in
the whole job), {name}, {stem} and {ext} (with its dot) exist; no attribute or index access, no
conversions, and only a zero-padded width for {n} — `str.format` is never handed anything else.
"""

import re
import string
from collections import defaultdict

from django.utils import timezone

from media_library.models import MediaFile
from media_library.naming import (
    NameAllocator,
    live_file_names,
    lock_names,
    safe_display_name,
    split_extension,
)
from media_library.operations.base import (
    IN_TRASH,
    NOT_FOUND,
    OperationError,
    OperationResult,
    fetch_owned,
    per_row,
)
from media_library.sql import IdIn

FIELDS = ("n", "name", "stem", "ext")
MAX_PATTERN_LENGTH = 255
_NUMBER_SPEC = re.compile(r"^(0?[1-9]\d?)?d?$")  # "", "03", "3", "03d": a width up to 99
# A placeholder no real name can hold (naming strips control characters), unique per row.
_PLACEHOLDER = "\x01{}"


def compile_pattern(pattern):
    """Check a rename pattern; return a function (n, name) -> the new safe display name."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise OperationError("Give a name pattern.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise OperationError(f"The pattern is longer than {MAX_PATTERN_LENGTH} characters.")
    if "/" in pattern or "\\" in pattern:
        raise OperationError("A name cannot contain / or \\.")
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError:
        raise OperationError("Unbalanced { or } in the pattern (write {{ or }} for a brace).") from None
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS:
            raise OperationError(
                f"Unknown field {{{field}}} in the pattern; use {{n}}, {{name}}, {{stem}} or {{ext}}."
            )
        if conversion:
            raise OperationError(f"Conversions such as !{conversion} are not allowed in the pattern.")
        if field == "n" and not _NUMBER_SPEC.match(spec or ""):
            raise OperationError("{n} takes only a zero-padded width, e.g. {n:03}.")
        if field != "n" and spec:
            raise OperationError(f"{{{field}}} takes no format; write just {{{field}}}.")

    def render(n, name):
        stem, ext = split_extension(name)
        return safe_display_name(pattern.format(n=n, name=name, stem=stem, ext=ext))

    return render


def exact_name_pattern(name):
    """The pattern that renames one file to exactly `name` (made safe; braces escaped)."""
    return safe_display_name(name).replace("{", "{{").replace("}", "}}")


def rename_file(owner_id, file_id, new_name):
    """Rename one file; the name is made safe and de-conflicted in its folder."""
    return rename(owner_id, [file_id], exact_name_pattern(new_name))


def rename(owner_id, ids, pattern, offset=0):
    """Rename the owner's live files among `ids` by `pattern`; {n} = offset + position + 1.

    Names are de-conflicted per folder against the other live files (not the batch's own rows),
    so renaming twice with a pattern built from {n}/{ext} gives the same names: a no-op. Patterns
    using {name}/{stem} build on the current name, so a second run renames again; the jobs engine
    runs each chunk exactly once. Queries: 1 read + 1-2 per distinct folder + 1-2 UPDATEs.
    """
    render = compile_pattern(pattern)
    rows, missing = fetch_owned(owner_id, ids, "name", "folder_id")
    result = OperationResult(failures=[(pk, NOT_FOUND) for pk in missing])
    by_folder = defaultdict(list)
    wanted = {}
    position = {int(pk): index for index, pk in enumerate(ids)}
    for pk, row in rows.items():
        if row["trashed"]:
            result.fail(pk, IN_TRASH)
            continue
        wanted[pk] = render(offset + position[pk] + 1, row["name"])
        by_folder[row["folder_id"]].append(pk)
    new_names = {}
    lock_names(owner_id, by_folder)
    for folder_id, pks in by_folder.items():
        others = live_file_names(owner_id, folder_id).exclude(IdIn(pks))
        allocated = NameAllocator(others).allocate([wanted[pk] for pk in pks])
        new_names.update(
            {pk: name for pk, name in zip(pks, allocated, strict=True) if name != rows[pk]["name"]}
        )
    result.done = len(wanted)
    if not new_names:
        return result
    changing = MediaFile.objects.live().filter(IdIn(new_names))
    # Swapping names inside a folder (a -> b while b -> c) would briefly duplicate a live name
    # under the unique index in a single UPDATE; park those rows on placeholder names first.
    if set(new_names.values()) & {rows[pk]["name"] for pk in new_names}:
        changing.update(name=per_row({pk: _PLACEHOLDER.format(pk) for pk in new_names}, "name"))
    changing.update(name=per_row(new_names, "name"), updated=timezone.now())
    return result
