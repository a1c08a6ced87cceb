"""Rename the selected files by a pattern such as "trip-{n:03}{ext}", or one file to exactly a name."""

import string

from django.utils.translation import ngettext_lazy

from media_library.actions.base import BulkAction
from media_library.actions.registry import register
from media_library.actions.selection import SelectionError
from media_library.kinds.files import handle_rename
from media_library.operations import OperationError, compile_pattern
from media_library.operations.rename import exact_name_pattern

DEFAULT_PATTERN = "{name}-{n:03}{ext}"


@register
class RenameAction(BulkAction):
    name = "rename"
    label = "Rename…"
    confirm = ngettext_lazy("Rename %(count)s file", "Rename %(count)s files", "number")
    job_label = "Rename"
    priority = 30
    params_template = "media_library/actions/_rename_pattern.html"
    handler = staticmethod(handle_rename)
    success_message = "{done} of {total} renamed"

    def clean_params(self, owner_id, data, files):
        """`pattern`, or `name` to rename a single file to exactly that name. A pattern without a
        field would give every file the same name, so it renames one file only."""
        count = None
        pattern = str(data.get("pattern") or "")
        if data.get("name") is not None and not pattern:
            count = files.count()
            if count != 1:
                raise SelectionError("A single name renames one file; give a pattern for several.")
            pattern = exact_name_pattern(str(data["name"]))
        pattern = pattern.strip()
        if not pattern:
            raise SelectionError("Enter a name pattern, e.g. trip-{n:03}{ext}.")
        try:
            compile_pattern(pattern)  # the very check the rename job applies: no surprises later
        except OperationError as exc:
            raise SelectionError(str(exc)) from None
        has_field = any(field for _, field, _, _ in string.Formatter().parse(pattern))
        if not has_field and (count if count is not None else files.count()) != 1:
            raise SelectionError(
                "The pattern needs {n}, {n:03}, {name}, {stem} or {ext}, or every file gets the same name."
            )
        return {"pattern": pattern}

    def params_context(self, owner_id):
        return {"pattern": DEFAULT_PATTERN}
