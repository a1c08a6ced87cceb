"""The `archive` job kind (Download as ZIP): what the engine calls, declared by the action.

- the chunk handler writes the chunk's part (media_library.archives.building);
- on_finish, called once after the job's final commit wherever that happened (a worker, or the
  web process for a cancel), only sends the assembly task to the bulk queue: the archive is
  assembled or discarded by a worker, never in a request;
- result_link and byte_progress give the card (and GET /api/jobs/<id>/) the download and the
  bytes, read from the Archive row.
"""

import logging

from django.urls import reverse

from jobs.models import Job
from jobs.registry import ResultLink
from media_library.archives.building import build_part
from media_library.models import Archive

logger = logging.getLogger(__name__)

ARCHIVE_KIND = "archive"
FINISHED_WITH_FILES = (Job.Status.SUCCEEDED, Job.Status.PARTIAL)

handle_archive_chunk = build_part


def send_assembly(job):
    from media_library.tasks import assemble_archive

    archive_id = Archive.objects.filter(job_id=job.pk).values_list("id", flat=True).first()
    if archive_id is not None:
        assemble_archive.delay(archive_id)  # a lost message is resent by the archive sweep


def archive_link(job):
    if job.status not in FINISHED_WITH_FILES:
        return None
    archive = Archive.objects.filter(job_id=job.pk).only("status", "error").first()
    if archive is None:
        return None
    if archive.status == Archive.Status.READY:
        return ResultLink("Download", reverse("media_library:archive_download", args=[job.pk]), stage=1)
    if archive.status == Archive.Status.EXPIRED:
        return ResultLink("This ZIP has expired.", stage=2)
    if archive.status == Archive.Status.FAILED:
        return ResultLink(f"The ZIP could not be made: {archive.error}", stage=2)
    return ResultLink("Preparing the ZIP…", stage=0)


def archive_bytes(job):
    row = Archive.objects.filter(job_id=job.pk).values_list("bytes_done", "bytes_total").first()
    return tuple(row) if row else None
