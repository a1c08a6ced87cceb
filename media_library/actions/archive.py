"""Download the selected files as one ZIP, built by a job (see media_library.archives)."""

from django.conf import settings
from django.utils.translation import ngettext_lazy

from media_library.actions.base import BulkAction
from media_library.actions.registry import register
from media_library.actions.selection import Scope
from media_library.archives.planning import submit_archive
from media_library.kinds import archive as archive_kind


@register
class ArchiveAction(BulkAction):
    name = "archive"
    label = "Download as ZIP"
    tree_label = "Download folder as ZIP"
    job_label = "ZIP download"
    confirm = ngettext_lazy(
        "Make a ZIP of %(count)s file to download?",
        "Make a ZIP of %(count)s files to download?",
        "number",
    )
    # Ticked files and all N of a folder are flat in the ZIP; a folder with its subfolders keeps
    # its tree (paths follow the folders).
    scopes = (Scope.IDS, Scope.FOLDER, Scope.TREE)
    priority = 60
    kind = archive_kind.ARCHIVE_KIND
    handler = staticmethod(archive_kind.handle_archive_chunk)
    queue = "bulk"
    chunk_size = settings.ARCHIVE_CHUNK_FILES  # the count bound; the bytes bound is the planner's
    atomic = False  # seconds of storage I/O must not hold the database's write lock
    retryable = False  # missing bytes stay missing; a new ZIP is a new job
    success_message = "{done} of {total} files in the ZIP"
    make_result = staticmethod(archive_kind.send_assembly)  # the job stays running until the ZIP is ready
    on_finish = staticmethod(archive_kind.send_discard)
    result_link = staticmethod(archive_kind.archive_link)
    byte_progress = staticmethod(archive_kind.archive_bytes)

    def submit_job(self, owner, selection, files, params):
        """Plan every entry's path and the chunks (bounded in files and bytes), then one job."""
        return submit_archive(self, owner, selection, files, params)
