"""The last step of an archive: put its parts in order and write its tail (or discard the parts).

The committed parts ARE the archive's bytes: each holds its entries' local headers, data and
descriptors with offsets counted from the part's start. The assembly writes only a tail, one
small object with MISSING.txt (when files were missing), the central directory (each entry's
offset moved by its part's place in the archive) and the end records, and records the ZIP as
those objects one after another (Archive.stored_objects); the download streams them in order.
Streaming the parts into one new file instead would write every byte twice: measured by
bench/bench_archive.py, that copy took as long as building the parts once the disk's write-back
was the limit, and doubled the space until the parts were deleted.

`finish_archive` runs as a task on the bulk queue (media_library.tasks.assemble_archive), sent by
the archive kind's make_result once every chunk is recorded (the job stays `running` until the ZIP
is ready), by its on_finish when the job was cancelled or failed, and again by the archive sweep
when that message was lost or an assembler died. It may run any number of times, at once or in
turn:

- claim: one conditional UPDATE makes the archive `assembling` under a fresh lease token, only if
  it is `building`, or `assembling` under a lease that ran out (a dead assembler's);
- write: the tail, to a NEW object named with the token (each part's size checked in storage
  first: a recorded part is whole, or the archive is not made);
- finish: in one transaction, the job becomes `succeeded` (or `partial`: jobs.lifecycle.
  finish_with_result, which locks the job row first, the engine's lock order), one conditional
  UPDATE (still our token) makes the archive `ready` with its objects, size and expiry, and the
  parts' rows go; after the commit every object of the job not in the archive (dead attempts'
  parts and tails) is deleted. An assembler that lost its lease sees that UPDATE change nothing,
  rolls back and deletes its own tail instead; a job cancelled meanwhile gets no ZIP.

Any error gives the claim back (the archive is `building` again) and is raised, for the task to
retry transient ones with back-off; after MAX_ATTEMPTS claims the archive and its job are failed
for good.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from jobs.lifecycle import finish_with_result
from jobs.models import Job
from jobs.selectors import awaiting_result
from media_library import storage
from media_library.archives.zipformat import Entry, EntryWriter, dos_time
from media_library.models import Archive, ArchivePart

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # renewed at least every RENEW while an assembler copies parts
RENEW = timedelta(seconds=30)
MAX_ATTEMPTS = 5
PART_FAILED = "its part of the archive could not be written"
MISSING_BLOCK = 64 * 1024
WITH_FILES = (Job.Status.SUCCEEDED, Job.Status.PARTIAL)


def finish_archive(archive_id):
    """The job has finished: assemble the archive, or discard its parts. Returns what happened."""
    archive = Archive.objects.select_related("job").filter(pk=archive_id).first()
    if archive is None or archive.job is None:
        return "gone"
    job = archive.job
    if job.status in WITH_FILES or awaiting_result(Job.objects.filter(pk=job.pk)).exists():
        return assemble(archive)
    if job.is_active:
        return "job running"
    return discard(archive, f"the job {job.get_status_display().lower()}")


def _claim(archive):
    """Compare-and-set on the database's clock (hosts' clocks may differ): our token, or None."""
    token = secrets.token_hex(8)
    claimable = Q(status=Archive.Status.BUILDING) | Q(status=Archive.Status.ASSEMBLING, lease_until__lt=Now())
    won = Archive.objects.filter(claimable, pk=archive.pk, attempts__lt=MAX_ATTEMPTS).update(
        status=Archive.Status.ASSEMBLING,
        lease_token=token,
        lease_until=Now() + LEASE,
        attempts=F("attempts") + 1,
    )
    return token if won else None


class Lease:
    """Our claim on the archive, renewed while we work; LostLease once someone else holds it."""

    def __init__(self, archive, token):
        self.archive_id, self.token = archive.pk, token
        self.renewed = timezone.now()

    def keep(self):
        now = timezone.now()
        if now - self.renewed < RENEW:
            return
        mine = Archive.objects.filter(pk=self.archive_id, lease_token=self.token)
        if not mine.update(lease_until=Now() + LEASE):
            raise LostLease("another assembler took the archive over")
        self.renewed = now


class LostLease(Exception):
    pass


class JobEnded(Exception):
    """The job was cancelled while its ZIP was assembled: no ZIP for it."""


def assemble(archive):
    token = _claim(archive)
    if token is None:
        return "not claimed"
    name = storage.archive_tail_name(archive.job_id, token)
    try:
        objects, count = write_tail(archive, name, Lease(archive, token))
    except LostLease:
        storage.delete_stored(name)
        return "lost the lease"
    except Exception as error:
        _give_back(archive, token, name, error)
        raise
    retention = timedelta(hours=settings.ARCHIVE_RETENTION_HOURS)
    size = sum(object_size for _name, object_size in objects)
    try:
        with transaction.atomic():
            # The job first (its row lock, then ours); it publishes the card with the download.
            job_status = finish_with_result(archive.job_id)
            if job_status not in WITH_FILES:
                raise JobEnded(job_status)
            won = Archive.objects.filter(pk=archive.pk, lease_token=token).update(
                status=Archive.Status.READY, stored_objects=objects, size=size, entry_count=count,
                ready_at=Now(), expires_at=Now() + retention, lease_token="", lease_until=None, error="",
            )  # fmt: skip
            if not won:
                raise LostLease("another assembler took the archive over")
            ArchivePart.objects.filter(archive=archive).delete()
    except LostLease:
        storage.delete_stored(name)
        return "lost the lease"
    except JobEnded as ended:
        return discard(archive, f"the job {ended}")
    storage.delete_archive_files(archive.job_id, keep={object_name for object_name, _size in objects})
    logger.info("archive %s ready: %s entries, %s bytes", archive.pk, count, size)
    return "ready"


def _give_back(archive, token, name, error):
    """After a failed attempt: our tail goes, the archive is `building` again (or failed for good
    after MAX_ATTEMPTS), so a retry can claim it at once."""
    logger.warning("assembly of archive %s failed: %r", archive.pk, error)
    try:
        storage.delete_stored(name)
    except OSError:
        logger.exception("could not delete the failed attempt %s", name)
    reason = f"{error.__class__.__name__}: {error}"[:500]
    mine = Archive.objects.filter(pk=archive.pk, lease_token=token)
    gave_up = mine.filter(attempts__gte=MAX_ATTEMPTS)
    if gave_up.exists():
        with transaction.atomic():
            # The job fails with the archive, in one transaction (the job's row locked first).
            finish_with_result(archive.job_id, error=_("The ZIP could not be made: %s") % reason)
            if gave_up.update(status=Archive.Status.FAILED, error=reason, lease_token="", lease_until=None):
                return
            transaction.set_rollback(True)  # someone else holds the archive now: theirs to finish
        return
    mine.update(status=Archive.Status.BUILDING, lease_token="", lease_until=None, error=reason)


def write_tail(archive, name, lease):
    """Write the archive's tail to the stored object `name`; returns ([[name, size], ...] of the
    whole ZIP in order, its entry count)."""
    parts = ArchivePart.objects.filter(archive=archive).order_by("index")
    objects, bases, offset = [], {}, 0
    for index, object_name, size in parts.values_list("index", "object_name", "size").iterator():
        lease.keep()
        if not object_name:
            continue  # its chunk failed: its files are listed in MISSING.txt
        stored = storage.stored_size(object_name)
        if stored != size:
            raise OSError(f"part {index} holds {stored} bytes where {size} were recorded")
        objects.append([object_name, size])
        bases[index] = offset
        offset += size
    with storage.open_for_writing(name) as out:
        writer = EntryWriter(out, start=offset)
        missing = None
        if archive.job.failed:
            lines = _missing_lines(archive.job.failed, parts)
            missing = writer.add(archive.missing_name, dos_time(), _blocks(lines))
        count = writer.central_directory(_directory(parts, bases, missing))
    objects.append([name, writer.offset - offset])
    return objects, count


def _directory(parts, bases, missing):
    """(entry, base) for every entry of every part, in order, one part's entries in memory at a time."""
    for index, rows in parts.values_list("index", "entries").iterator(chunk_size=8):
        base = bases.get(index)
        if base is not None:
            for row in rows:
                yield Entry.from_row(row), base
    if missing is not None:
        yield missing, 0


def _missing_lines(count, parts):
    noun = "file" if count == 1 else "files"
    yield f"{count} selected {noun} could not be put in this archive (path, then why):\n\n"
    rows = parts.values_list("object_name", "plan", "missing")
    for object_name, plan, missing in rows.iterator(chunk_size=8):
        if object_name:
            rows = missing
        else:
            rows = [(path, PART_FAILED) for file_id, path, _size in plan if file_id is not None]
        for path, reason in rows:
            yield f"{path}\t{reason}\n"


def _blocks(lines):
    """Text lines as UTF-8 blocks of about MISSING_BLOCK bytes."""
    pending, size = [], 0
    for line in lines:
        data = line.encode("utf-8")
        pending.append(data)
        size += len(data)
        if size >= MISSING_BLOCK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def discard(archive, reason):
    """A cancelled or failed job leaves no archive: its parts (rows and objects) are removed."""
    with transaction.atomic():
        Archive.objects.filter(
            pk=archive.pk, status__in=(Archive.Status.BUILDING, Archive.Status.ASSEMBLING)
        ).update(status=Archive.Status.FAILED, error=reason[:500], lease_token="", lease_until=None)
        ArchivePart.objects.filter(archive=archive).delete()
    storage.delete_archive_files(archive.job_id)
    return "discarded"
