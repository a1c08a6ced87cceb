"""Reading jobs for a user: every query is scoped to what the user may see."""

from datetime import timedelta

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from jobs.models import Job, JobChunk, JobFailure
from jobs.registry import all_kinds, label_of

RECENT_MINUTES = 30
PANEL_SIZE = 8  # cards in the jobs panel, as rendered and as sent to a socket on (re)connect


def jobs_of(user):
    """The jobs a user may see: their own, and for staff also maintenance jobs (staff-only kinds,
    e.g. the trash purge, owned by a system user)."""
    visible = Q(owner_id=user.pk)
    if user.is_staff:
        visible |= Q(kind__in=[kind.name for kind in all_kinds() if kind.staff_only])
    return Job.objects.filter(visible)


def panel_jobs(user, limit=PANEL_SIZE):
    """Active jobs and the ones that finished in the last half hour, newest first."""
    recent = timezone.now() - timedelta(minutes=RECENT_MINUTES)
    return list(
        jobs_of(user).filter(Q(status__in=Job.ACTIVE) | Q(finished__gte=recent)).order_by("-created")[:limit]
    )


def with_labels(jobs):
    for job in jobs:
        job.label = label_of(job.kind)
    return jobs


def job_history(user, *, status=None, kind=None, before=None, limit=50):
    """Keyset pagination on (created, id): the page after `before` (a Job), never an OFFSET."""
    qs = jobs_of(user)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if before is not None:
        qs = qs.filter(Q(created__lt=before.created) | Q(created=before.created, id__lt=before.id))
    rows = list(qs.order_by("-created", "-id")[: limit + 1])
    return rows[:limit], len(rows) > limit


def chunks_of(job, limit=200):
    return JobChunk.objects.filter(job=job).defer("ids").order_by("index")[:limit]


def failures_of(job, limit=500):
    return JobFailure.objects.filter(job=job).order_by("chunk_index", "item_id")[:limit]


def awaiting_result(jobs=None, *, chunks_finished_before=None):
    """Jobs whose chunks are all recorded and that wait for their kind to make the result
    (JobKind.make_result), optionally only those whose last chunk finished before a time: a
    kind's sweep asks for the result again when the first request was lost."""
    live = JobChunk.objects.filter(job_id=OuterRef("pk"), status__in=JobChunk.LIVE)
    waiting = (jobs if jobs is not None else Job.objects.all()).filter(
        status__in=Job.RUNNABLE, finished__isnull=True
    )
    waiting = waiting.exclude(Exists(live))
    if chunks_finished_before is not None:
        last = JobChunk.objects.filter(job_id=OuterRef("pk")).order_by("-finished").values("finished")[:1]
        waiting = waiting.annotate(last_chunk_finished=Subquery(last)).filter(
            last_chunk_finished__lt=chunks_finished_before
        )
    return waiting
