"""Delete the selected trashed files for good, after a short undo window."""

from django.utils.translation import ngettext_lazy

from media_library.actions.base import BulkAction, Takes
from media_library.actions.registry import register
from media_library.kinds.files import handle_delete


@register
class DeleteAction(BulkAction):
    name = "delete"
    label = "Delete permanently"
    confirm = ngettext_lazy(
        "Permanently delete %(count)s file? This cannot be undone.",
        "Permanently delete %(count)s files? This cannot be undone.",
        "number",
    )
    takes = Takes.TRASHED
    priority = 20
    destructive = True
    handler = staticmethod(handle_delete)
    defer_seconds = 5  # the undo window: the job card offers Undo (cancel) before it starts
    success_message = "{done} of {total} deleted permanently"
