"""Copy the selected files into a folder (new rows sharing the same stored bytes)."""

from django.utils.translation import ngettext_lazy

from media_library.actions.base import TargetFolderAction
from media_library.actions.registry import register
from media_library.kinds.files import handle_copy


@register
class CopyAction(TargetFolderAction):
    name = "copy"
    label = "Copy to…"
    confirm = ngettext_lazy("Copy %(count)s file to", "Copy %(count)s files to", "number")
    job_label = "Copy"
    priority = 20
    handler = staticmethod(handle_copy)
    success_message = "{done} of {total} copied"
