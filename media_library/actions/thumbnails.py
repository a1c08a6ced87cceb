"""Remake the thumbnails and previews of the selected files, even those already made."""

from django.utils.translation import ngettext_lazy

from media_library.actions.base import BulkAction
from media_library.actions.registry import register
from media_library.kinds.thumbnails import THUMBNAIL_CHUNK, make_thumbnails


@register
class RegenerateThumbnailsAction(BulkAction):
    name = "thumbnails"
    label = "Regenerate thumbnails"
    confirm = ngettext_lazy(
        "Regenerate the thumbnails of %(count)s file?",
        "Regenerate the thumbnails of %(count)s files?",
        "number",
    )
    priority = 50
    # Its own kind (the card and the history say "Regenerate thumbnails"); the upload's
    # "Make thumbnails" kind runs the same handler without `force`.
    kind = "regenerate_thumbnails"
    handler = staticmethod(make_thumbnails)
    queue = "bulk"
    chunk_size = THUMBNAIL_CHUNK
    atomic = False  # image work must not hold the database write lock; the handler is idempotent
    success_message = "{done} of {total} thumbnails remade"

    def clean_params(self, owner_id, data, files):
        return {"force": True}  # ready thumbnails are made again, not skipped
