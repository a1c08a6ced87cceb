"""Put the selected trashed files back where they came from."""

from django.utils.translation import ngettext_lazy

from media_library.actions.base import BulkAction, Takes
from media_library.actions.registry import register
from media_library.kinds.files import handle_restore


@register
class RestoreAction(BulkAction):
    name = "restore"
    label = "Restore"
    confirm = ngettext_lazy(
        "Restore %(count)s file to where it came from?",
        "Restore %(count)s files to where they came from?",
        "number",
    )
    takes = Takes.TRASHED
    priority = 10
    handler = staticmethod(handle_restore)
    success_message = "{done} of {total} restored"
