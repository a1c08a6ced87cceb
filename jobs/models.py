"""The durable record of every job: the job, its chunks of ids, and the items that failed.

The database, not the broker, is the truth: a chunk's status and generation decide whether a
(re)delivered message has anything left to do, and the job's counters only ever grow. Every
status is written by `jobs.lifecycle`; jobs/README.md draws the states.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


def task_id_for(job_id, index, attempt):
    """Derived, so a chunk's task is traceable (TaskResult, logs) and a resend is a new generation."""
    return f"job-{job_id}-c{index}-a{attempt}"


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        CANCELLING = "cancelling"
        CANCELLED = "cancelled"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        PARTIAL = "partial"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.CANCELLING)
    RUNNABLE = (Status.QUEUED, Status.RUNNING)  # its chunks may still be claimed
    FINISHED = (Status.CANCELLED, Status.SUCCEEDED, Status.FAILED, Status.PARTIAL)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    chunk_size = models.PositiveIntegerField(default=500)
    chunk_count = models.PositiveIntegerField(default=0)
    queue = models.CharField(max_length=32, default="bulk")
    priority = models.PositiveSmallIntegerField(default=0, help_text="0..9, higher runs first")
    error = models.TextField(blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)
    run_after = models.DateTimeField(null=True, blank=True)  # deferred start (undo window / later)
    dispatched = models.DateTimeField(null=True, blank=True)  # chunk tasks sent to the broker
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created"], name="job_owner_created"),
            models.Index(fields=["status", "run_after"], name="job_status_run_after"),
        ]
        constraints = [
            # Two quick "Retry failed" clicks must not run the same items twice (e.g. copy them
            # twice): the database refuses a second retry while one is active.
            models.UniqueConstraint(
                fields=["retry_of"],
                condition=Q(status__in=("queued", "running", "cancelling")),  # Job.ACTIVE
                name="job_one_retry_in_flight",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.short_id} ({self.status})"

    def get_absolute_url(self):
        return reverse("jobs:detail", args=[self.pk])

    @property
    def short_id(self):
        return self.id.hex[:8]

    @property
    def is_active(self):
        return self.status in self.ACTIVE

    @property
    def is_making_result(self):
        """Every item counted but the job still running: its kind is making its result (make_result)."""
        return self.status == self.Status.RUNNING and self.total > 0 and self.processed >= self.total

    @property
    def is_finished(self):
        """Final: the card says so (`data-finished`), and pages read it there, not a status list."""
        return self.status in self.FINISHED

    @property
    def processed(self):
        return self.done + self.failed

    @property
    def percent(self):
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))

    @property
    def done_percent(self):
        return 100 * self.done / self.total if self.total else 100

    @property
    def failed_percent(self):
        return 100 * self.failed / self.total if self.total else 0

    @property
    def undoable(self):
        """A deferred job not yet started can be undone (cancelled before any id is touched)."""
        return self.status == self.Status.QUEUED and self.run_after is not None and not self.started

    @property
    def rate(self):
        """Items per second since the job started, or None before it has a meaningful rate."""
        if not self.started or not self.processed:
            return None
        elapsed = ((self.finished or timezone.now()) - self.started).total_seconds()
        return self.processed / elapsed if elapsed > 0 else None

    @property
    def eta_seconds(self):
        rate = self.rate
        if not self.is_active or not rate:
            return None
        return max(0, round((self.total - self.processed) / rate))

    @property
    def progress_seq(self):
        """Grows with every change a viewer can see; lets a socket drop stale, out-of-order cards."""
        rank = {"queued": 0, "running": 1, "cancelling": 2}.get(self.status, 3)
        return self.processed * 4 + rank


class JobChunk(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    LIVE = (Status.QUEUED, Status.RUNNING)
    TERMINAL = (Status.DONE, Status.FAILED, Status.CANCELLED)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    offset = models.PositiveIntegerField(default=0)
    ids = models.JSONField()
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempt = models.PositiveIntegerField(default=0, help_text="dispatch generation (part of task_id)")
    retries = models.PositiveIntegerField(default=0, help_text="transient failures retried")
    # Claims by a worker. Each claim ends in a recorded outcome or a retry, unless the worker died:
    # deliveries - retries is how many workers this chunk has killed (see JOBS_MAX_DELIVERIES).
    deliveries = models.PositiveIntegerField(default=0, help_text="times a worker claimed the chunk")
    # Until when the current dispatch/claim is trusted; after it the recovery sweep re-sends.
    lease_until = models.DateTimeField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="last worker that took the chunk")
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="job_chunk_unique_index")]
        indexes = [models.Index(fields=["status", "lease_until"], name="job_chunk_status_lease")]

    def __str__(self):
        return f"chunk {self.index} of {self.job_id} ({self.status})"

    @property
    def task_id(self):
        return task_id_for(self.job_id, self.index, self.attempt)


class JobFailure(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="failures")
    chunk_index = models.PositiveIntegerField()
    item_id = models.BigIntegerField()
    reason = models.TextField()

    class Meta:
        ordering = ["job", "chunk_index", "item_id"]
        indexes = [models.Index(fields=["job", "item_id"], name="job_failure_item")]

    def __str__(self):
        return f"{self.item_id}: {self.reason}"
