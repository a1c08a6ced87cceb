"""Move the selected files to the trash (restorable until the retention period ends)."""

from django.utils.translation import ngettext_lazy

from media_library.actions.base import BulkAction
from media_library.actions.registry import register
from media_library.kinds.files import handle_trash


@register
class TrashAction(BulkAction):
    name = "trash"
    label = "Move to trash"
    confirm = ngettext_lazy(
        "Move %(count)s file to the trash?",
        "Move %(count)s files to the trash?",
        "number",
    )
    priority = 40
    destructive = True
    handler = staticmethod(handle_trash)
    success_message = "{done} of {total} moved to trash"
