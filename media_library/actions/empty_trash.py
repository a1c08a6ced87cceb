"""Delete everything in the trash for good, whatever is ticked or filtered."""

from django.utils.translation import ngettext_lazy

from media_library.actions.base import BulkAction, Takes
from media_library.actions.registry import register
from media_library.kinds.files import handle_empty_trash


@register
class EmptyTrashAction(BulkAction):
    name = "empty_trash"
    label = "Empty trash"
    confirm = ngettext_lazy(
        "Permanently delete the %(count)s file in the trash? This cannot be undone.",
        "Permanently delete all %(count)s files in the trash? This cannot be undone.",
        "number",
    )
    takes = Takes.WHOLE_TRASH
    priority = 30
    destructive = True
    handler = staticmethod(handle_empty_trash)
    queue = "bulk"
    defer_seconds = 5
    success_message = "Trash emptied: {done} of {total} deleted"
