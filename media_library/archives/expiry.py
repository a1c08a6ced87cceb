"""Archive upkeep, run by beat ("Expire ZIP downloads", edited in the admin like the trash purge).

- expiry: an archive past `expires_at` (ARCHIVE_RETENTION_HOURS after it was ready) loses its
  bytes and becomes `expired` (the row stays: the job's card says the ZIP has expired);
- recovery: an archive whose chunks were all recorded a while ago but that is still `building`
  (the make_result or on_finish message was lost) or `assembling` under a lease that ran out (the
  assembler died) gets its assembly sent again; the assembly's claim makes a duplicate harmless;
- leftovers: a directory under archives/ that no building, assembling or ready archive owns (its
  job was deleted, or a straggling chunk wrote after the archive was discarded) is removed.

Every query here is on indexed columns and bounded by BATCH; storage is listed once (the
directories of archives/, one per archive job still around).
"""

import logging
import uuid
from datetime import timedelta

from celery import current_app
from django.db.models import Count, Q, Sum
from django.db.models.functions import Now
from django.utils import timezone

from jobs.models import Job
from jobs.selectors import awaiting_result
from media_library import storage
from media_library.kinds.archive import ARCHIVE_KIND
from media_library.models import Archive, ArchivePart

logger = logging.getLogger(__name__)

# The tasks media_library.tasks registers under these names; this module sends them by name, so it
# never imports the tasks module (which imports it).
EXPIRE_TASK = "media_library.tasks.expire_archives"
ASSEMBLE_TASK = "media_library.tasks.assemble_archive"
EXPIRE_SCHEDULE_NAME = "Expire ZIP downloads"
BATCH = 500
# The assembly message is sent when the last chunk commits: give it this long before another.
RESEND_AFTER = timedelta(minutes=2)
# An archive in one of these states owns the files under its job's directory; any other is a leftover.
OWNS_FILES = (Archive.Status.BUILDING, Archive.Status.ASSEMBLING, Archive.Status.READY)


def expire_archives():
    """Remove the bytes of archives past their expiry (on the database's clock); returns how many."""
    due = Archive.objects.filter(status=Archive.Status.READY, expires_at__lte=Now())
    expired = 0
    for archive_id, job_id in due.order_by("expires_at").values_list("id", "job_id")[:BATCH]:
        if Archive.objects.filter(pk=archive_id, status=Archive.Status.READY).update(
            status=Archive.Status.EXPIRED, stored_objects=[]
        ):
            ArchivePart.objects.filter(archive_id=archive_id).delete()
            if job_id:
                storage.delete_archive_files(job_id)
            expired += 1
    return expired


def stalled_archives(now=None):
    """Archives whose job's chunks were all recorded a while ago (the job awaits its ZIP, or was
    cancelled or failed) but that are not assembled or discarded, or whose assembler's lease ran
    out."""
    before = (now or timezone.now()) - RESEND_AFTER
    awaiting = awaiting_result(Job.objects.filter(kind=ARCHIVE_KIND), chunks_finished_before=before)
    waiting = Q(status=Archive.Status.BUILDING) & (
        Q(job__finished__lt=before) | Q(job_id__in=awaiting.values("pk"))
    )
    orphaned = Q(status=Archive.Status.ASSEMBLING, lease_until__lt=Now())
    return Archive.objects.filter(waiting | orphaned)


def resend_stalled(now=None):
    ids = list(stalled_archives(now).order_by("id").values_list("id", flat=True)[:BATCH])
    for archive_id in ids:
        current_app.send_task(ASSEMBLE_TASK, args=[archive_id])
    if ids:
        logger.warning("archives: resent the assembly of %s archive(s)", len(ids))
    return len(ids)


def remove_leftovers():
    """Delete archive directories that no archive owns (see OWNS_FILES); returns how many went."""
    job_ids = storage.archive_job_ids()
    removed = 0
    for start in range(0, len(job_ids), BATCH):
        batch = job_ids[start : start + BATCH]
        owners = Archive.objects.filter(job_id__in=_uuids(batch), status__in=OWNS_FILES)
        owned = {str(job_id) for job_id in owners.values_list("job_id", flat=True)}
        for job_id in batch:
            if job_id not in owned:
                storage.delete_archive_files(job_id)
                removed += 1
    return removed


def _uuids(names):
    valid = []
    for name in names:
        try:
            valid.append(uuid.UUID(name))
        except ValueError:
            continue
    return valid


def sweep():
    return {"expired": expire_archives(), "resent": resend_stalled(), "leftovers": remove_leftovers()}


def space_used(user):
    """What the dashboard shows: the ready archives' count and bytes, the user's own (and for staff,
    everyone's)."""
    ready = Archive.objects.filter(status=Archive.Status.READY)
    totals = {"own": ready.filter(owner=user).aggregate(count=Count("id"), bytes=Sum("size"))}
    if user.is_staff:
        totals["everyone"] = ready.aggregate(count=Count("id"), bytes=Sum("size"))
    for value in totals.values():
        value["bytes"] = value["bytes"] or 0
    return totals
