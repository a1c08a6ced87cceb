"""Job kinds used only by the tests (imported by the test process and by test workers via
celery's `--include`). Their effects go to a plain table in the test database, written in the
engine's transaction, so "processed exactly once" can be counted: no unique key hides duplicates.
"""

import os
import signal
import time
from dataclasses import replace

import redis
from django.db import OperationalError, connection

from jobs.registry import ChunkOutcome, JobKind, PermanentError, TransientError, register

EFFECTS_TABLE = "jobs_test_effect"


def create_effects_table():
    with connection.cursor() as cursor:
        columns = "job_id varchar(64) NOT NULL, item_id bigint NOT NULL"
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} ({columns})")


def effects(job_id):
    """item id -> how many times a handler's effect was committed for it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT item_id, COUNT(*) FROM {EFFECTS_TABLE} WHERE job_id = %s GROUP BY item_id", [str(job_id)]
        )
        return dict(cursor.fetchall())


def _redis():
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def _record(ctx, ids):
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {EFFECTS_TABLE} (job_id, item_id) VALUES (%s, %s)", [(ctx.job_id, i) for i in ids]
        )


def record_ids(ctx):
    """params: sleep (seconds per chunk), fail_ids (fail those items), permanent_chunks (indexes)."""
    params = ctx.params
    if ctx.chunk_index in params.get("permanent_chunks", []):
        raise PermanentError(f"chunk {ctx.chunk_index} refused: <b>bad target</b>")
    if params.get("sleep"):
        time.sleep(float(params["sleep"]))
    failing = set(params.get("fail_ids", []))
    if params.get("fail_once_tag"):
        # Items in fail_once_ids fail the first time they are seen under this tag, then succeed.
        key = f"test-fail-once:{params['fail_once_tag']}"
        failing |= {i for i in params.get("fail_once_ids", []) if i in ctx.ids and _redis().sadd(key, i)}
    ok = [i for i in ctx.ids if i not in failing]
    _record(ctx, ok)
    return ChunkOutcome(done=len(ok), failures=[(i, f"item {i} is broken") for i in ctx.ids if i in failing])


def flaky_ids(ctx):
    """Fails with a transient database error `fail_times` times per chunk, then records."""
    attempts = _redis().incr(f"test-flaky:{ctx.job_id}:{ctx.chunk_index}")
    _redis().rpush(f"test-flaky-times:{ctx.job_id}:{ctx.chunk_index}", f"{time.time():.6f}")
    if attempts <= int(ctx.params.get("fail_times", 2)):
        raise OperationalError("database is locked (simulated)")
    _record(ctx, ctx.ids)
    return ChunkOutcome(done=len(ctx.ids))


def storage_hiccup_ids(ctx):
    """Raises the handler's own TransientError `fail_times` times per chunk (e.g. an S3 timeout)."""
    attempts = _redis().incr(f"test-hiccup:{ctx.job_id}:{ctx.chunk_index}")
    if attempts <= int(ctx.params.get("fail_times", 2)):
        raise TransientError("storage timed out (simulated)")
    _record(ctx, ctx.ids)
    return ChunkOutcome(done=len(ctx.ids))


def poison_ids(ctx):
    """The chunk `poison_chunk` kills the process running it, as an image that exhausts memory or
    crashes native code would (the kernel's OOM killer sends SIGKILL)."""
    if ctx.chunk_index == int(ctx.params.get("poison_chunk", 0)):
        _redis().incr(f"test-poison-deaths:{ctx.job_id}")
        os.kill(os.getpid(), signal.SIGKILL)
    _record(ctx, ctx.ids)
    return ChunkOutcome(done=len(ctx.ids))


def crash_ids(ctx):
    if ctx.chunk_index == int(ctx.params.get("crash_chunk", 0)):
        raise RuntimeError("handler bug <script>")
    _record(ctx, ctx.ids)
    return ChunkOutcome(done=len(ctx.ids))


def record_ids_outside_transaction(ctx):
    """A non-atomic kind: records through its own short transaction (idempotent per job+item)."""
    from django.db import transaction

    if ctx.params.get("sleep"):
        time.sleep(float(ctx.params["sleep"]))
    with transaction.atomic(), connection.cursor() as cursor:
        placeholders = ",".join(["%s"] * len(ctx.ids))
        cursor.execute(
            f"DELETE FROM {EFFECTS_TABLE} WHERE job_id = %s AND item_id IN ({placeholders})",
            [ctx.job_id, *ctx.ids],
        )
        _record(ctx, ctx.ids)
    return ChunkOutcome(done=len(ctx.ids))


def beating_ids(ctx):
    """A long non-atomic chunk (params: sleep) that logs each run in Redis (kept if its process
    dies): its start, and every tenth of a second that it still runs. Its effect commits with the
    chunk's record (ChunkOutcome.commit), so a second run that committed would show."""
    client, run = _redis(), f"{ctx.chunk_index} {os.getpid()} {time.time():.6f}"
    client.rpush(f"test-runs:{ctx.job_id}", run)
    until = time.monotonic() + float(ctx.params.get("sleep", 0))
    while True:
        client.hset(f"test-run-ticks:{ctx.job_id}", run, f"{time.time():.6f}")
        if time.monotonic() >= until:
            break
        time.sleep(0.1)
    return ChunkOutcome(done=len(ctx.ids), commit=lambda: _record(ctx, ctx.ids))


def runs(job_id):
    """Every run of a test.beating chunk: [(chunk index, pid, started, last seen running)] (unix
    times), in the order they started."""
    client = _redis()
    ticks = {run.decode(): float(at) for run, at in client.hgetall(f"test-run-ticks:{job_id}").items()}
    logged = [run.decode() for run in client.lrange(f"test-runs:{job_id}", 0, -1)]
    return [
        (int(i), int(pid), float(at), ticks.get(f"{i} {pid} {at}", float(at)))
        for i, pid, at in map(str.split, logged)
    ]


RECORD = register(JobKind(name="test.record", label="Test <record>", handler=record_ids, chunk_size=10))
RECORD_AUTO = register(
    JobKind(name="test.record_auto", label="Test record (auto)", handler=record_ids, queue="auto",
            chunk_size=10, interactive_max=50)
)  # fmt: skip
FLAKY = register(JobKind(name="test.flaky", label="Test flaky", handler=flaky_ids, chunk_size=10))
CRASH = register(JobKind(name="test.crash", label="Test crash", handler=crash_ids, chunk_size=10))
HICCUP = register(JobKind(name="test.hiccup", label="Test hiccup", handler=storage_hiccup_ids, chunk_size=10))
POISON = register(JobKind(name="test.poison", label="Test poison", handler=poison_ids, chunk_size=10))
DEFERRED = register(
    JobKind(name="test.deferred", label="Test delete", handler=record_ids, chunk_size=10, defer_seconds=3)
)
SLOW_NON_ATOMIC = register(
    JobKind(name="test.non_atomic", label="Test non-atomic", handler=record_ids_outside_transaction,
            chunk_size=10, atomic=False)
)  # fmt: skip
BEATING = register(
    JobKind(name="test.beating", label="Test beating", handler=beating_ids, chunk_size=10, atomic=False)
)
# The same in the engine's transaction (as rename, copy, trash run): the chunk row stays locked.
BEATING_ATOMIC = register(replace(BEATING, name="test.beating_atomic", atomic=True))
STAFF = register(JobKind(name="test.staff", label="Test staff", handler=record_ids, staff_only=True))
# Waits in the database (never sent) until a test hands its chunks out itself (tests/support/chunks.py).
PARKED = register(
    JobKind(name="test.parked", label="Test parked", handler=record_ids, chunk_size=10, defer_seconds=86_400)
)


def record_on_commit(ctx):
    """A non-atomic kind whose effect is ChunkOutcome.commit: it counts only when the engine runs it.

    params: fail_commit_times (the commit raises a transient error that often per chunk),
    recorded_meanwhile (another delivery records the chunk while this handler runs).
    """
    from jobs.models import JobChunk

    if ctx.params.get("recorded_meanwhile"):
        JobChunk.objects.filter(job_id=ctx.job_id, index=ctx.chunk_index).update(status="done")

    def commit():
        key = f"test-commit:{ctx.job_id}:{ctx.chunk_index}"
        if _redis().incr(key) <= int(ctx.params.get("fail_commit_times", 0)):
            _record(ctx, ctx.ids)  # written, then rolled back with the whole record
            raise OperationalError("database is locked (simulated, in commit)")
        _record(ctx, ctx.ids)

    failing = set(ctx.params.get("fail_ids", []))
    ok = [i for i in ctx.ids if i not in failing]
    return ChunkOutcome(
        done=len(ok), failures=[(i, "broken") for i in ctx.ids if i in failing], commit=commit
    )


def committed_link(job):
    from jobs.registry import ResultLink

    if job.params.get("link_fails"):
        raise RuntimeError("the link hook broke")
    return ResultLink("Get <it>", f"/result/{job.pk}/") if job.status == "succeeded" else ResultLink("Wait…")


def committed_bytes(job):
    return (job.done * 1024, job.total * 1024)


COMMITTED = register(
    JobKind(name="test.committed", label="Test committed", handler=record_on_commit, chunk_size=10,
            atomic=False, retryable=False, result_link=committed_link, byte_progress=committed_bytes)
)  # fmt: skip

RESULTS_ASKED = []  # job ids whose make_result hook ran, in order


def ask_for_result(job):
    RESULTS_ASKED.append(str(job.pk))


RESULT_LATER = register(
    JobKind(name="test.result_later", label="Test result later", handler=record_ids, chunk_size=10,
            make_result=ask_for_result)
)  # fmt: skip
