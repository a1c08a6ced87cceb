"""Test-only job kinds around the media library's real rename and copy handlers.

They run the product's handlers unchanged and add what a test needs: a log of every execution
(for "no chunk ran twice"), or a job parked in the database until the test delivers its chunks.
Workers load them through JOBS_EXTRA_KIND_MODULES.
"""

import os
import time
from dataclasses import replace

import redis
from django.db import connection

from jobs.models import JobChunk
from jobs.registry import register
from media_library.actions.copy import CopyAction
from media_library.actions.rename import RenameAction
from media_library.kinds.files import handle_copy, handle_rename

EXECUTIONS_TABLE = "jobs_test_execution"
STARTS_KEY = "test-executions:{job}"


def create_executions_table():
    with connection.cursor() as cursor:
        columns = "job_id varchar(64) NOT NULL, chunk_index integer NOT NULL, attempt integer NOT NULL"
        columns += ", pid integer"
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {EXECUTIONS_TABLE} ({columns})")


def committed_executions(job_id):
    """chunk index -> how many executions of its handler committed (with their effect)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT chunk_index, COUNT(*) FROM {EXECUTIONS_TABLE} WHERE job_id = %s GROUP BY chunk_index",
            [str(job_id)],
        )
        return dict(cursor.fetchall())


def started_executions(job_id):
    """Every start of a handler, committed or not: [(chunk index, attempt, pid, unix time)]."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    rows = [entry.decode().split() for entry in client.lrange(STARTS_KEY.format(job=job_id), 0, -1)]
    return [(int(index), int(attempt), int(pid), float(at)) for index, attempt, pid, at in rows]


def logged(handler):
    """The handler, logging each start (in Redis: kept even if the worker dies) and each execution
    (a row written in the handler's transaction: it commits only with the chunk's effect)."""

    def run(ctx):
        attempt = JobChunk.objects.filter(job_id=ctx.job_id, index=ctx.chunk_index).values_list(
            "attempt", flat=True
        )[0]
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        entry = f"{ctx.chunk_index} {attempt} {os.getpid()} {time.time():.6f}"
        client.rpush(STARTS_KEY.format(job=ctx.job_id), entry)
        outcome = handler(ctx)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {EXECUTIONS_TABLE} (job_id, chunk_index, attempt, pid) VALUES (%s, %s, %s, %s)",
                [ctx.job_id, ctx.chunk_index, attempt, os.getpid()],
            )
        return outcome

    return run


# The product's own kinds, as their bulk actions declare them (queue, chunk size, atomic).
RENAME, COPY = RenameAction().job_kind(), CopyAction().job_kind()
LOGGED_RENAME = register(replace(RENAME, name="test.logged_rename", handler=logged(handle_rename)))
LOGGED_COPY = register(replace(COPY, name="test.logged_copy", handler=logged(handle_copy)))
# Waits in the database until a test hands its chunks out (tests/support/chunks.py).
PARKED_COPY = register(replace(COPY, name="test.parked_copy", defer_seconds=86_400))
