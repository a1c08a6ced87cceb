"""The storm: exactly once with many workers and sweepers on PostgreSQL, while pool processes die.

Three worker processes (two pool processes each) and three processes sweeping in a loop, with
leases of seconds, run two non-idempotent jobs over real library rows: a `{stem}-x{ext}` rename of
10,000 files (a second run of a chunk would make "-x-x") and a copy of 10,000 files whose names
collide into one folder (every chunk allocates names there at once). Pool processes running a
chunk are SIGKILLed now and then. Then every file is renamed exactly once, there are exactly
10,000 copies with unique names, the counts add up, and no chunk committed twice or started again
after it was done (tests/support/library_kinds.py logs every start and every committed execution).
The figures give how long each killed chunk took to run again in another process (`recovery_s`:
its claim's lease, renewed by a heartbeat while its worker lives, then a sweep).

Runs once with Redis as the broker (a redis-server of its own) and once with RabbitMQ (skipped
when none answers on 127.0.0.1:5672). The figures are printed and written next to the logs.
"""

import json
import os
import random
import re
import signal
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.processes import (
    children_of,
    start_celery_worker,
    start_python,
    start_redis_server,
    stop_process,
    wait_until,
)
from jobs.models import Job, JobChunk
from media_library.folders import create_folder
from media_library.models import MediaFile
from tests.support import library_kinds
from tests.support.interleave import ON_POSTGRESQL
from tests.support.library_rows import make_blob, make_files

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(420),  # a loaded 2-core machine: the jobs get 240 s, then the checks run
    pytest.mark.skipif(
        not ON_POSTGRESQL,
        reason="the storm is about parallel writers, row and advisory locks: PostgreSQL's (SQLite runs one "
        "writer at a time); it runs in the PostgreSQL pass of .ci/run",
    ),
]

FILES = 10_000
SOURCE_FOLDERS = 10  # the copy's sources: 10 folders holding the same 1,000 names
CHUNK = 100
WORKERS, SWEEPERS, KILLS = 3, 3, 6
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
STORM_ENV = {
    "JOBS_EXTRA_KIND_MODULES": "tests.support.recording_kinds,tests.support.library_kinds",
    # Leases of seconds: queued chunks wait in the broker longer than that, so the sweeps resend
    # them while workers take them, and a killed worker's chunk is taken over quickly.
    "JOBS_CLAIM_LEASE_SECONDS": "3",
    "JOBS_HEARTBEAT_SECONDS": "1",
    "JOBS_QUEUED_LEASE_SECONDS": "2",
    "JOBS_MAX_DELIVERIES": "1000",  # random kills must not look like a poison chunk
}

SUBMIT = """
import sys
from django.contrib.auth import get_user_model
from jobs import submit
from media_library.models import MediaFile
owner = get_user_model().objects.get(pk=int(sys.argv[1]))
storm, target = int(sys.argv[2]), int(sys.argv[3])
sources, chunk = [int(pk) for pk in sys.argv[4].split(",")], int(sys.argv[5])
renamed = MediaFile.objects.filter(folder_id=storm).order_by("id").values_list("id", flat=True)
copied = MediaFile.objects.filter(folder_id__in=sources).order_by("id").values_list("id", flat=True)
pattern = {"pattern": "{stem}-x{ext}", "chunk_size": chunk}
rename = submit("test.logged_rename", owner, renamed.iterator(), params=pattern)
into = {"target_folder_id": target, "chunk_size": chunk}
copy = submit("test.logged_copy", owner, copied.iterator(), params=into)
print(rename.pk, copy.pk)
"""

SWEEP_LOOP = """
import os, sys, time
from jobs.recovery import sweep
stop, deadline = sys.argv[1], time.monotonic() + 600
resent = skipped = rounds = 0
while not os.path.exists(stop) and time.monotonic() < deadline:
    result = sweep()
    rounds += 1
    skipped += bool(result.get("skipped"))
    resent += result.get("resent", 0)
    time.sleep(0.2)
print(f"sweeper rounds={rounds} resent={resent} skipped={skipped}", flush=True)
"""


def rabbitmq_answers():
    try:
        socket.create_connection(("127.0.0.1", 5672), 2).close()
    except OSError:
        return False
    return True


@pytest.fixture(params=["redis", "rabbitmq"])
def storm_broker(request, tmp_path):
    if request.param == "rabbitmq":
        if not rabbitmq_answers():
            pytest.skip("no RabbitMQ answers on 127.0.0.1:5672")
        yield RABBITMQ
        return
    url, proc = start_redis_server(tmp_path / "storm-broker")
    yield url
    stop_process(proc)


def library(owner):
    """10,000 files to rename in one folder; 10,000 to copy, 1,000 names repeated in 10 folders."""
    blob = make_blob()
    storm = create_folder(owner.pk, None, "Storm")
    make_files(owner, FILES, folder=storm, blob=blob)
    sources = [create_folder(owner.pk, None, f"Day {n}") for n in range(SOURCE_FOLDERS)]
    names = [f"p{i:04}.jpg" for i in range(FILES // SOURCE_FOLDERS)]
    for folder in sources:
        make_files(owner, folder=folder, names=names, blob=blob)
    return storm, create_folder(owner.pk, None, "Copies"), sources, names


def kill_running_chunks(jobs, workers, deadline):
    """SIGKILL the pool process running a chunk that is not done yet, KILLS times; after each kill,
    wait until some chunk finishes (the storm goes on) before the next. Returns the kills as
    (job, chunk index, pid, unix time)."""
    worker_pids = {worker.pid for worker in workers}
    kills = []
    while len(kills) < KILLS and time.monotonic() < deadline:
        done_before = JobChunk.objects.filter(job__in=jobs, status="done").count()

        # Turn about: a rename chunk, then a copy chunk (while that job still runs).
        unfinished = [job for job in jobs if not Job.objects.get(pk=job.pk).finished]
        if not unfinished:
            break
        target = unfinished[len(kills) % len(unfinished)]

        def victim(job=target):
            if Job.objects.filter(pk=job.pk, finished__isnull=False).exists():
                return "finished"
            running = set(JobChunk.objects.filter(job=job, status="running").values_list("index", flat=True))
            pool = {child for main in worker_pids for child in children_of(main)}
            started = library_kinds.started_executions(job.pk)[-20:]
            candidates = {
                (pid, index) for index, _attempt, pid, _at in started if index in running and pid in pool
            }
            return random.choice(sorted(candidates)) if candidates else None

        chosen = wait_until(victim, max(1, deadline - time.monotonic()), "a pool process running a chunk")
        if chosen == "finished":
            continue
        pid, index = chosen
        os.kill(pid, signal.SIGKILL)
        kills.append((target, index, pid, time.time()))
        wait_until(
            lambda before=done_before: JobChunk.objects.filter(job__in=jobs, status="done").count() > before,
            max(1, deadline - time.monotonic()),
            "the storm to go on after a kill",
        )
    return kills


def recovery_seconds(kills):
    """Per kill: seconds until its chunk started again in another process, or None if the chunk
    was recorded before the kill landed (nothing to run again)."""
    seconds = []
    for job, index, pid, killed_at in kills:
        starts = library_kinds.started_executions(job.pk)
        again = [at for i, _attempt, p, at in starts if i == index and p != pid and at > killed_at]
        seconds.append(min(again) - killed_at if again else None)
    return seconds


def test_storm_exactly_once_with_kills_and_concurrent_sweeps(
    storm_broker, make_user, test_database_url, service_logs, tmp_path
):
    random.seed()
    library_kinds.create_executions_table()
    owner = make_user("storm")
    storm, target, sources, names = library(owner)
    env = {**STORM_ENV, "CELERY_BROKER_URL": storm_broker}
    broker = "redis" if storm_broker.startswith("redis") else "rabbitmq"
    logs = service_logs / f"storm-{broker}-{os.getpid()}-{time.monotonic_ns()}"
    logs.mkdir()
    stop_file = tmp_path / "stop-sweeping"
    workers, sweepers = [], []
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            workers = list(
                pool.map(
                    lambda n: start_celery_worker(
                        test_database_url, logs / f"worker{n}.log", env=env, broker_url=storm_broker
                    ),
                    range(WORKERS),
                )
            )
        sweepers = [
            start_python(SWEEP_LOOP, test_database_url, logs / f"sweeper{n}.log", stop_file, env=env)
            for n in range(SWEEPERS)
        ]
        started = time.monotonic()
        submitter = start_python(
            SUBMIT, test_database_url, logs / "submit.log", owner.pk, storm.pk, target.pk,
            ",".join(str(folder.pk) for folder in sources), CHUNK, env=env,
        )  # fmt: skip
        assert submitter.wait(60) == 0, (logs / "submit.log").read_text()[-2000:]
        job_ids = (logs / "submit.log").read_text().split()[-2:]
        jobs = [Job.objects.get(pk=pk) for pk in job_ids]
        deadline = started + 240
        kills = kill_running_chunks(jobs, workers, deadline)

        def all_finished():
            return all(Job.objects.get(pk=job.pk).finished for job in jobs)

        wait_until(all_finished, max(1, deadline - time.monotonic()), "both storm jobs to finish")
        duration = time.monotonic() - started
    finally:
        stop_file.touch()
        for proc in sweepers:
            try:
                proc.wait(20)
            except Exception:
                stop_process(proc)
        for proc in workers:
            stop_process(proc)

    assert kills, "the storm killed no pool process"
    recoveries = recovery_seconds(kills)
    rename, copy = (Job.objects.get(pk=job.pk) for job in jobs)
    for job in (rename, copy):
        assert (job.status, job.done, job.failed, job.total) == ("succeeded", FILES, 0, FILES), job
        assert job.done + job.failed == job.total
        assert set(JobChunk.objects.filter(job=job).values_list("status", flat=True)) == {"done"}

    # Every file renamed exactly once: no "-x-x", none left out.
    renamed = list(MediaFile.objects.filter(folder=storm).values_list("name", flat=True))
    assert len(renamed) == FILES and all(re.fullmatch(r"f\d{5}-x\.jpg", name) for name in renamed)
    # Exactly 10,000 copies, one of each source, with the names a serial run would give them.
    copies = MediaFile.objects.filter(folder=target)
    assert copies.count() == FILES
    assert copies.filter(copy_key=str(copy.pk)).values("copied_from").distinct().count() == FILES
    expected = {name for name in names} | {
        name.replace(".jpg", f" ({n}).jpg") for name in names for n in range(2, SOURCE_FOLDERS + 1)
    }
    assert set(copies.values_list("name", flat=True)) == expected

    figures = {
        "broker": broker,
        "duration_s": round(duration, 1),
        "kills": dict(Counter(k[0].kind for k in kills)),
    }
    # Kill -> the chunk started again in another process (None: it had committed before the kill).
    measured = sorted(r for r in recoveries if r is not None)
    figures["recovery_s"] = {
        "each": [None if r is None else round(r, 1) for r in recoveries],
        "median": round(measured[len(measured) // 2], 1) if measured else None,
        "max": round(measured[-1], 1) if measured else None,
    }
    for label, job in (("rename", rename), ("copy", copy)):
        chunks = {c.index: c for c in JobChunk.objects.filter(job=job)}
        committed = library_kinds.committed_executions(job.pk)
        assert committed == dict.fromkeys(chunks, 1), "a chunk committed twice (or never)"
        starts = library_kinds.started_executions(job.pk)
        after_done = [(i, at) for i, _a, _pid, at in starts if at > chunks[i].finished.timestamp()]
        assert after_done == [], "a chunk started again after it was done"
        per_chunk = Counter(i for i, *_rest in starts)
        figures[label] = {
            "chunks": len(chunks),
            "executions_per_chunk_max": max(per_chunk.values()),
            "chunks_executed_more_than_once": sum(1 for n in per_chunk.values() if n > 1),
            "resends": sum(c.attempt - 1 for c in chunks.values()),
            "deliveries": sum(c.deliveries for c in chunks.values()),
        }
    figures["sweepers"] = [
        (logs / f"sweeper{n}.log").read_text().strip().splitlines()[-1] for n in range(SWEEPERS)
    ]
    (logs / "figures.json").write_text(json.dumps(figures, indent=2))
    print("storm figures:", json.dumps(figures))
