"""Submit, finalise, claim and record as plain functions (no broker involved)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs import lifecycle, runner
from jobs.lifecycle import finish_if_complete
from jobs.models import Job, JobChunk, JobFailure
from jobs.recovery import dispatch_due_jobs, recover_stalled_chunks
from jobs.services import cancel_job, retry_failed, submit

pytestmark = pytest.mark.django_db


def test_submit_writes_job_and_chunks_in_few_queries(
    make_user, test_kinds, django_capture_on_commit_callbacks
):
    user = make_user()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
        job = submit("test.record", user, iter(range(100_000)), params={"chunk_size": 500})
    assert len(queries) < 20  # bulk inserts, never one query per id or per chunk
    assert len(callbacks) == 2  # the chunk tasks and the first card are sent only after commit
    assert (job.total, job.chunk_count, job.status) == (100_000, 200, "queued")
    last = JobChunk.objects.get(job=job, index=199)
    assert (last.offset, last.size, last.ids[0], last.ids[-1]) == (99_500, 500, 99_500, 99_999)
    assert JobChunk.objects.filter(job=job, attempt=1, lease_until__isnull=False).count() == 200


def test_bad_ids_are_refused_and_nothing_is_created(make_user, test_kinds):
    with pytest.raises(ValueError, match="integers"):
        submit("test.record", make_user(), [1, 2, "x"])
    with pytest.raises(ValueError, match="integers"):
        submit("test.record", make_user(), [1, True])
    assert not Job.objects.exists()


def test_ids_are_deduplicated_and_empty_job_succeeds(make_user, test_kinds):
    job = submit("test.record", make_user(), [3, 3, "4", 4])
    assert job.total == 2
    empty = submit("test.record", make_user(), [])
    assert (empty.status, empty.total) == ("succeeded", 0)


def test_staff_only_kind_refused_for_others(make_user, test_kinds):
    with pytest.raises(PermissionDenied):
        submit("test.staff", make_user(), [1])
    assert submit("test.staff", make_user(is_staff=True), [1]).total == 1


def test_far_deferral_waits_in_the_database_not_the_broker(make_user, test_kinds, settings):
    from dataclasses import replace

    from jobs import registry

    later = registry.register(replace(test_kinds.DEFERRED, name="test.deferred_far", defer_seconds=3600))
    job = submit(later, make_user(), [1, 2])
    assert job.dispatched is None and job.run_after > timezone.now() + timedelta(minutes=59)
    assert dispatch_due_jobs() == 0
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now() + timedelta(seconds=20))
    assert dispatch_due_jobs() == 1  # now within one countdown: sent with the remaining wait
    assert Job.objects.get(pk=job.pk).dispatched is not None


def test_chunk_runs_once_and_redelivery_is_a_no_op(make_user, test_kinds):
    job = submit("test.record", make_user(), range(1, 21), params={"chunk_size": 10})
    assert runner.run_chunk(job.pk, 0, 1) == runner.RECORDED
    assert runner.run_chunk(job.pk, 0, 1) == runner.SKIPPED  # redelivered message: nothing happens
    assert runner.run_chunk(job.pk, 1, 1) == runner.FINISHED  # exactly one chunk finalises the job
    job.refresh_from_db()
    assert (job.status, job.done) == ("succeeded", 20)
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 21)}


def test_cancel_stops_queued_chunks_and_a_running_one_finishes(make_user, test_kinds):
    job = submit("test.record", make_user(), range(1, 31), params={"chunk_size": 10})
    assert lifecycle.claim(job.pk, 0) is not None  # chunk 0 is running somewhere
    assert cancel_job(job, job.owner)
    job.refresh_from_db()
    assert job.status == "cancelling"
    assert runner.run_chunk(job.pk, 1, 1) == runner.SKIPPED  # a cancelled chunk never runs
    assert runner.run_chunk(job.pk, 0, 1) == runner.SKIPPED  # claim re-checks: the job is cancelling
    assert JobChunk.objects.filter(job=job, status="running").count() == 1
    JobChunk.objects.filter(job=job, index=0).update(lease_until=timezone.now() - timedelta(seconds=1))
    recover_stalled_chunks()  # the dead running chunk of a cancelling job is closed, job finalised
    job.refresh_from_db()
    assert job.status == "cancelled" and job.done == 0
    assert not cancel_job(job, job.owner)


def test_cancel_of_someone_elses_job_is_refused(make_user, test_kinds):
    job = submit("test.record", make_user(), [1])
    with pytest.raises(Job.DoesNotExist):
        cancel_job(job, make_user())


def test_final_status_rules(make_user, test_kinds):
    job = submit("test.record", make_user(), range(1, 11), params={"fail_ids": [1, 2]})
    runner.run_chunk(job.pk, 0, 1)
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("partial", 8, 2)
    assert not finish_if_complete(job.pk)  # already finalised: nobody finalises twice
    all_failed = submit("test.record", make_user(), [1, 2], params={"fail_ids": [1, 2]})
    runner.run_chunk(all_failed.pk, 0, 1)
    assert Job.objects.get(pk=all_failed.pk).status == "failed"


def test_retry_failed_makes_a_job_of_only_the_failed_ids(make_user, test_kinds):
    job = submit("test.record", make_user(), range(1, 21), params={"chunk_size": 10, "fail_ids": [4, 15]})
    with pytest.raises(ValueError, match="still running"):
        retry_failed(job, job.owner)
    runner.run_chunk(job.pk, 0, 1)
    runner.run_chunk(job.pk, 1, 1)
    job.refresh_from_db()
    again = retry_failed(job, job.owner)
    assert again.total == 2 and again.retry_of == job
    assert sorted(
        i for ids in JobChunk.objects.filter(job=again).values_list("ids", flat=True) for i in ids
    ) == [4, 15]
    assert JobFailure.objects.filter(job=job).count() == 2
    ok = submit("test.record", make_user(), [1])
    runner.run_chunk(ok.pk, 0, 1)
    with pytest.raises(ValueError, match="no failed items"):
        retry_failed(Job.objects.get(pk=ok.pk))


def test_stalled_chunks_are_resent_under_a_new_task_id(
    make_user, test_kinds, django_capture_on_commit_callbacks
):
    job = submit("test.record", make_user(), range(1, 21), params={"chunk_size": 10})
    lifecycle.claim(job.pk, 0)
    JobChunk.objects.filter(job=job).update(lease_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks() as callbacks:
        assert recover_stalled_chunks() == 2
    assert len(callbacks) == 2
    assert sorted(JobChunk.objects.filter(job=job).values_list("attempt", "status")) == [
        (2, "queued"), (2, "queued")
    ]  # fmt: skip
