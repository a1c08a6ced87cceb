"""A dead worker's chunk runs again within seconds; a live worker's long chunk keeps its claim.

A claim's lease is short and the pool process running the chunk renews it (jobs.heartbeat): a
pool process SIGKILLed mid-chunk (as the OOM killer does) frees its chunk within one lease and
the workers' own sweep sends it again; a chunk longer than the lease keeps its claim and never
runs twice at once; a heartbeat that cannot get through stops its process before its lease ends.
Real workers, real Redis; test.beating logs every run of a chunk with its pid and when it was
last seen running (tests/support/recording_kinds.py).
"""

import itertools
import os
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import transaction

from devtools.processes import start_celery_worker, stop_process, wait_until
from jobs.models import JobChunk
from jobs.recovery import sweep
from jobs.services import submit

pytestmark = pytest.mark.django_db(transaction=True)

RECOVERY_LIMIT = 30  # seconds from a kill until the chunk runs again elsewhere


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def overlapping(runs):
    """Runs of one chunk that were running at the same time (start before the other's last tick)."""
    by_chunk = defaultdict(list)
    for index, pid, started, seen in runs:
        by_chunk[index].append((started, seen, pid))
    pairs = []
    for index, chunk_runs in by_chunk.items():
        chunk_runs.sort()
        pairs += [(index, a, b) for a, b in itertools.pairwise(chunk_runs) if b[0] < a[1]]
    return pairs


def finished(job, *, sweeping=False):
    polls = {"n": 0}

    def check():
        polls["n"] += 1
        if sweeping and polls["n"] % 4 == 0:
            sweep()  # beat's part, as often as a worker's own sweep could
        job.refresh_from_db()
        return job.finished is not None

    return check


@pytest.mark.parametrize(
    ("kind", "seconds"),
    # A long non-atomic chunk (its heartbeat renews the claim); an atomic one (as a copy's chunk:
    # it holds its chunk row, and on SQLite the write lock, so its chunks run one at a time).
    [("test.beating", 8), ("test.beating_atomic", 3)],
)
def test_a_chunk_whose_pool_process_was_killed_runs_again_elsewhere_within_30_seconds(
    kind, seconds, bulk_to_ourselves, test_kinds, make_user, test_database_url, service_logs
):
    # The engine's own claim lease, heartbeat and sweep interval (jobs/conf.py); no sweep by the test.
    worker = start_celery_worker(
        test_database_url, service_logs / "heartbeat-kill.log", queues="bulk", concurrency=2
    )
    try:
        job = submit(kind, make_user(), range(1, 41), params={"chunk_size": 10, "sleep": seconds})

        def a_run_one_second_in():
            runs = test_kinds.runs(job.pk)
            return next(((i, pid) for i, pid, start, seen in runs if seen - start >= 1), None)

        index, pid = wait_until(a_run_one_second_in, 60, "a chunk running for a second", worker)
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)  # the pool process only, mid-chunk, as the OOM killer would

        def runs_elsewhere():
            runs = test_kinds.runs(job.pk)
            again = (start for i, p, start, _seen in runs if i == index and p != pid and start > killed_at)
            return next(again, None)

        rerun = wait_until(runs_elsewhere, RECOVERY_LIMIT + 15, "the killed chunk to run again", worker)
        recovery = rerun - killed_at
        print(f"\nrecovery ({kind}): chunk {index} ran again {recovery:.1f}s after its process was SIGKILLed")
        assert recovery < RECOVERY_LIMIT

        wait_until(finished(job), 60, "the job to finish", worker)
        assert (job.status, job.done, job.failed) == ("succeeded", 40, 0)
        assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 41)}
        assert JobChunk.objects.get(job=job, index=index).attempt >= 2  # sent again after the kill
        assert overlapping(test_kinds.runs(job.pk)) == []
    finally:
        stop_process(worker)


def test_a_chunk_longer_than_its_lease_keeps_its_claim_and_never_runs_twice(
    bulk_to_ourselves, test_kinds, make_user, test_database_url, service_logs
):
    # Claims trusted for 1.5 s, a chunk runs 6 s; the worker sweeps twice a second and the test
    # sweeps too, and a pool process is free to take any resent chunk at once.
    short = {"JOBS_CLAIM_LEASE_SECONDS": "1.5", "JOBS_HEARTBEAT_SECONDS": "0.5", "JOBS_SWEEP_SECONDS": "0.5"}
    worker = start_celery_worker(
        test_database_url, service_logs / "heartbeat-long.log", queues="bulk", concurrency=3, env=short
    )
    try:
        job = submit("test.beating", make_user(), range(1, 21), params={"chunk_size": 10, "sleep": 6})
        chunks = JobChunk.objects.filter(job=job)
        wait_until(lambda: chunks.filter(status="running").count() == 2, 60, "both chunks running", worker)
        first = dict(chunks.values_list("index", "lease_until"))
        latest = dict(first)
        finished_with_sweeps = finished(job, sweeping=True)

        def done_watching_leases():
            for index, lease in chunks.filter(status="running").values_list("index", "lease_until"):
                latest[index] = max(latest[index], lease)
            return finished_with_sweeps()

        wait_until(done_watching_leases, 60, "the job to finish", worker)
        assert (job.status, job.done, job.failed) == ("succeeded", 20, 0)
        runs = test_kinds.runs(job.pk)
        assert sorted(i for i, *_rest in runs) == [0, 1], runs  # each chunk ran once
        assert sorted(chunks.values_list("attempt", "deliveries")) == [(1, 1), (1, 1)]  # never resent
        assert overlapping(runs) == []
        assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 21)}
        # The heartbeat moved each lease on by about the chunk's length (6 s), not one lease.
        assert all((latest[i] - first[i]).total_seconds() >= 3 for i in first), (first, latest)
    finally:
        stop_process(worker)


def test_a_heartbeat_that_cannot_renew_stops_its_chunk_before_the_lease_runs_out(
    bulk_to_ourselves, test_kinds, make_user, test_database_url, service_logs
):
    short = {"JOBS_CLAIM_LEASE_SECONDS": "3", "JOBS_HEARTBEAT_SECONDS": "1", "JOBS_SWEEP_SECONDS": "1"}
    worker = start_celery_worker(
        test_database_url, service_logs / "heartbeat-blocked.log", queues="bulk", concurrency=1, env=short
    )
    try:
        job = submit("test.beating", make_user(), range(1, 11), params={"sleep": 12})
        chunk = JobChunk.objects.filter(job=job, index=0)

        def renewed_run():
            runs = test_kinds.runs(job.pk)
            return next((pid for _i, pid, start, seen in runs if seen - start >= 1.5), None)

        pid = wait_until(renewed_run, 60, "the chunk running past a renewal", worker)
        # The chunk row locked (PostgreSQL) or the database's write lock taken (SQLite): the
        # heartbeat's renewals wait, as they would for a database that does not answer.
        with transaction.atomic():
            lease_end = chunk.select_for_update().get().lease_until.timestamp()
            wait_until(lambda: not alive(pid), lease_end - time.time() + 5, "the pool process to stop")
            stopped_at = time.time()
        margin = lease_end - stopped_at
        print(f"\nheartbeat blocked: the pool process stopped {margin:.1f}s before its lease ended")
        assert stopped_at < lease_end  # before anyone else could take the chunk
        assert [run[:2] for run in test_kinds.runs(job.pk)] == [(0, pid)]  # and it had not run twice

        wait_until(finished(job), 60, "the job to finish on a new pool process", worker)
        assert (job.status, job.done, job.failed) == ("succeeded", 10, 0)
        assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 11)}  # the stopped run committed nothing
        runs = test_kinds.runs(job.pk)
        assert len(runs) == 2 and runs[1][1] != pid and overlapping(runs) == []
    finally:
        stop_process(worker)
