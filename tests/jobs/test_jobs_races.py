"""Races between workers, sweeps and cancels, replayed deterministically on real connections.

Each test hands out a job in a state a busy deployment produces (a backlog older than the lease,
a claim alive elsewhere, a resent chunk) and delivers its messages itself, through the real task.
Where two transactions must interleave, tests/support/interleave.py makes them.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from devtools.processes import wait_until
from jobs.models import Job, JobChunk
from jobs.recovery import recover_stalled_chunks, sweep
from jobs.services import cancel_job
from tests.support.chunks import deliver, handed_out
from tests.support.interleave import (
    PauseAfter,
    deadlocks_detected,
    finish,
    in_thread,
    postgres_only,
    waits_on_a_lock,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def resends_kept_here(monkeypatch):
    """The tests deliver every message themselves: a resend is recorded, not sent, so a worker that
    an earlier test started on the session's broker cannot take it first and reorder the race."""
    from jobs import dispatch

    sent = []
    monkeypatch.setattr(
        dispatch, "send_chunk", lambda job, index, attempt, **options: sent.append((index, attempt))
    )
    return sent


def stalled_chunks_read(sql):
    return sql.lstrip().upper().startswith("SELECT") and "jobs_jobchunk" in sql and "lease_until" in sql


def test_a_backlog_older_than_the_queued_lease_still_runs_each_chunk_once(
    make_user, test_kinds, resends_kept_here
):
    """The sweep resent a chunk whose message waited longer than its lease; the first message then
    reaches the front of the queue and runs it, and the resent twin finds it done."""
    expired = timezone.now() - timedelta(seconds=1)
    job = handed_out(make_user(), range(1, 11), lease_until=expired)
    assert recover_stalled_chunks() == 1
    assert resends_kept_here == [(0, 2)]
    assert JobChunk.objects.get(job=job).attempt == 2
    assert deliver(job, 0, 1) == "finished"  # an older generation may run a queued chunk
    assert deliver(job, 0, 2) == "skipped"
    assert deliver(job, 0, 1) == "skipped"  # and any redelivery after that changes nothing
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 11)}


def test_a_claim_never_takes_a_live_lease(make_user, test_kinds):
    live = timezone.now() + timedelta(minutes=5)
    job = handed_out(make_user(), range(1, 11), status="running", lease_until=live)  # runs elsewhere
    assert deliver(job, 0, 1) == "skipped"  # a duplicate delivery of the same message
    assert test_kinds.effects(job.pk) == {}
    assert JobChunk.objects.get(job=job).status == "running"


def test_a_chunk_finished_between_the_sweeps_read_and_its_resend_is_not_resent(make_user, test_kinds):
    # A backlog older than the queued lease: the sweep sees the chunk as stalled, yet its message
    # is about to be taken by a worker.
    expired = timezone.now() - timedelta(seconds=1)
    job = handed_out(make_user(), range(1, 11), lease_until=expired)
    pause = PauseAfter(stalled_chunks_read)
    sweeping = in_thread(pause.run, recover_stalled_chunks)
    assert pause.reached.wait(30), "the sweep never read the stalled chunks"
    assert deliver(job, 0, 1) == "finished"  # the worker claims and finishes the chunk meanwhile
    pause.go_on.set()
    resent = finish(*sweeping)
    chunk = JobChunk.objects.get(job=job)
    assert (resent, chunk.status, chunk.attempt) == (0, "done", 1)  # not sent again
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 11)}


@postgres_only
def test_only_one_sweep_runs_at_a_time(make_user, test_kinds):
    expired = timezone.now() - timedelta(seconds=1)
    job = handed_out(make_user(), range(1, 11), lease_until=expired)
    pause = PauseAfter(stalled_chunks_read)
    sweeping = in_thread(pause.run, sweep)
    assert pause.reached.wait(30)
    second = sweep()  # e.g. a worker's startup sweep while beat's is running
    pause.go_on.set()
    first = finish(*sweeping)
    assert second.get("skipped"), second
    assert first["resent"] == 1
    assert JobChunk.objects.get(job=job).attempt == 2  # resent once, by the sweep that held the lock


@postgres_only
def test_cancel_while_a_chunk_is_being_claimed_does_not_deadlock(make_user, test_kinds):
    """The claim locks its chunk, then the job; cancel locks the job, then the chunks: with the
    cancel first in line for the job row, the old order deadlocked (PostgreSQL aborts one)."""
    job = handed_out(make_user(), range(1, 21))
    deadlocks_before = deadlocks_detected()
    with transaction.atomic():
        Job.objects.select_for_update().get(pk=job.pk)  # the job row is busy for a moment
        cancelling = in_thread(lambda: cancel_job(Job.objects.get(pk=job.pk)))
        wait_until(lambda: waits_on_a_lock(cancelling[1]["pid"]), 30, "cancel waiting on the job row")
        claiming = in_thread(deliver, job, 0, 1)
        wait_until(lambda: waits_on_a_lock(claiming[1]["pid"]), 30, "claim waiting on the job row")
    finish(*cancelling)
    finish(*claiming)
    # A deadlock victim inside the claim would be retried as a transient error: none may happen.
    assert deadlocks_detected() == deadlocks_before
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert set(JobChunk.objects.filter(job=job).values_list("status", flat=True)) <= {"cancelled", "done"}
    done = JobChunk.objects.filter(job=job, status="done").count()
    assert job.done == 10 * done and len(test_kinds.effects(job.pk)) == 10 * done
