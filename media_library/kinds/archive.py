"""The `archive` job kind (Download as ZIP): what the engine calls, declared by the action.

- the chunk handler writes the chunk's part (media_library.archives.building);
- make_result, called once the last chunk is recorded (the job stays `running` meanwhile), only
  sends the assembly task to the bulk queue: the archive is assembled by a worker, never in a
  request, and the assembly finishes the job in the transaction that makes the ZIP ready, so a
  job that reads `succeeded` or `partial` always has its download (jobs.lifecycle.finish_with_result);
- on_finish, called after the final commit of a job cancelled or failed, sends the same task,
  which then discards the parts;
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


def send_discard(job):
    """A job that ended without a ZIP (cancelled, failed): its parts go. (A succeeded job's
    assembly has already run: it is what finished the job.)"""
    if job.status not in FINISHED_WITH_FILES:
        send_assembly(job)


def send_assembly(job):
    from media_library.tasks import assemble_archive

    archive_id = Archive.objects.filter(job_id=job.pk).values_list("id", flat=True).first()
    if archive_id is not None:
        assemble_archive.delay(archive_id)  # a lost message is resent by the archive sweep


def archive_link(job):
    if job.is_making_result:
        return ResultLink("Preparing the ZIP…", stage=0)
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
