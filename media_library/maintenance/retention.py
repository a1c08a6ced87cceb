"""Trash retention: which trashed files have expired, and the single-run purge around them.

Beat calls `media_library.tasks.purge_expired_trash` on the schedule operators edit in the admin
("Purge expired trash"). The purge is a job like any other (kind `purge_trash`, owned by the
system user so staff see it on the jobs pages). A Redis single-run lock, taken before the job is
submitted and released by the job's last chunk, keeps two purges from running at once.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from media_library.maintenance import single_run
from media_library.models import MediaFile

logger = logging.getLogger(__name__)

PURGE_KIND = "purge_trash"
PURGE_TASK = "media_library.tasks.purge_expired_trash"
PURGE_SCHEDULE_NAME = "Purge expired trash"
PURGE_LOCK = "purge-expired-trash"
# Longer than the longest purge we expect (a million files at a few thousand per second);
# if a purge dies without releasing it, `manage.py clear_purge_lock` frees it at once.
PURGE_LOCK_SECONDS = 6 * 3600
SYSTEM_USERNAME = "mediaflow-system"


def retention_days():
    return settings.TRASH_RETENTION_DAYS


def retention_cutoff(now=None):
    return (now or timezone.now()) - timedelta(days=retention_days())


def purge_date(trashed_at):
    """When a file trashed at `trashed_at` will be deleted forever."""
    return trashed_at + timedelta(days=retention_days())


def expired_trash(now=None):
    """Every owner's trashed files past retention, ordered so chunks mostly hold one owner."""
    return MediaFile.objects.filter(trashed_at__lte=retention_cutoff(now)).order_by("owner_id", "id")


def system_user():
    """The owner of maintenance jobs: inactive (it can't log in), staff (its jobs show to staff)."""
    user, _ = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "is_staff": True}
    )
    return user


def start_purge(triggered_by="schedule"):
    """Submit the purge job unless a purge is already running. Returns what happened (JSON)."""
    from jobs import submit

    token = single_run.try_acquire(PURGE_LOCK, PURGE_LOCK_SECONDS)
    if token is None:
        logger.warning("purge of expired trash skipped (%s): another purge holds the lock", triggered_by)
        return {"status": "skipped", "reason": "another purge is running", "triggered_by": triggered_by}
    try:
        ids = expired_trash().values_list("id", flat=True)
        job = submit(
            PURGE_KIND,
            system_user(),
            ids.iterator(chunk_size=2000),
            params={"lock_token": token, "cutoff": retention_cutoff().isoformat(), "by": triggered_by},
        )
    except Exception:
        single_run.release(PURGE_LOCK, token)
        raise
    if job.total == 0:
        # Nothing expired: the job is already final, so nothing will release the lock later.
        single_run.release(PURGE_LOCK, token)
    logger.info("purge of expired trash started: job %s over %s files (%s)", job.pk, job.total, triggered_by)
    return {"status": "started", "job_id": str(job.pk), "files": job.total, "triggered_by": triggered_by}


def finish_purge(job):
    """Called once when the purge job ends (whatever its status): free the single-run lock."""
    token = (job.params or {}).get("lock_token")
    if token:
        single_run.release(PURGE_LOCK, token)


def purge_schedule():
    from django_celery_beat.models import PeriodicTask

    return PeriodicTask.objects.filter(name=PURGE_SCHEDULE_NAME).first()


def next_purge_run(now=None):
    """When beat will next run the purge, as the DatabaseScheduler computes it (None if disabled)."""
    task = purge_schedule()
    if task is None or not task.enabled:
        return None
    now = now or timezone.now()
    schedule = task.schedule
    if task.one_off and task.total_run_count:
        return None
    # The same starting point the DatabaseScheduler's entry uses for a task that never ran.
    last_run = task.last_run_at or task.date_changed or now
    remaining = max(schedule.remaining_estimate(last_run), timedelta(0))
    # remaining_estimate reads the clock again a moment later: round away that sub-second drift.
    return (now + remaining + timedelta(microseconds=500_000)).replace(microsecond=0)


def last_purge():
    from jobs.models import Job

    return Job.objects.filter(kind=PURGE_KIND).order_by("-created").first()


def maintenance_summary(user):
    """What the dashboard shows `user` about trash retention: the schedule and retention for
    everyone; the last purge's outcome (counts over every owner's files) only for staff, and for
    everyone else when their own oldest trashed file goes (facts about their files only)."""
    summary = {"retention_days": retention_days(), "next_purge": next_purge_run()}
    if user.is_staff:
        summary["last_purge"] = last_purge()
    else:
        oldest = MediaFile.objects.trashed().filter(owner=user).order_by("trashed_at").first()
        summary["own_next_expiry"] = purge_date(oldest.trashed_at) if oldest else None
    return summary
