"""Move the selected files into a folder."""

from django.utils.translation import ngettext_lazy

from media_library.actions.base import TargetFolderAction
from media_library.actions.registry import register
from media_library.kinds.files import handle_move


@register
class MoveAction(TargetFolderAction):
    name = "move"
    label = "Move to…"
    confirm = ngettext_lazy("Move %(count)s file to", "Move %(count)s files to", "number")
    job_label = "Move"
    priority = 10
    handler = staticmethod(handle_move)
    success_message = "{done} of {total} moved"
