"""Keeping jobs moving when messages are lost or workers die: the sweep, run by beat every minute,
by every worker when it starts and, every JOBS_SWEEP_SECONDS, by a thread of every worker's main
process (a dead worker's chunk runs again within about one claim lease plus that interval).

A SIGKILLed worker's unacked Redis messages only come back after the visibility timeout (an
hour), and a send that failed (broker down) left no message at all. Chunks of live jobs whose
lease has expired are sent again instead, each by compare-and-set (jobs.lifecycle.resend), so a
chunk that a worker took meanwhile is left alone. One sweep runs at a time (an advisory lock on
PostgreSQL; SQLite serialises writers, and the compare-and-set makes a second sweep harmless).
"""

import logging
import random
import threading
import zlib
from contextlib import contextmanager

from django.db import connection, connections

from jobs import lifecycle
from jobs.conf import settings
from jobs.models import Job

logger = logging.getLogger(__name__)

SWEEP_LOCK = zlib.crc32(b"jobs.recovery.sweep")


@contextmanager
def sweep_lock():
    """True if this process may sweep now. A session lock: the sweep is many short transactions,
    and the lock goes with the connection if the process dies."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])


def recover_stalled_chunks(limit=None):
    """Resend chunks whose dispatch or claim lease has expired; returns how many were resent."""
    resent = 0
    for row in lifecycle.stalled_chunks(limit or settings.JOBS_SWEEP_BATCH):
        if row["job__status"] in Job.RUNNABLE and not row["job__error"]:
            resent += lifecycle.resend(row)
        else:  # cancelling or failing: the chunk will never run
            lifecycle.close_stalled(row)
    if resent:
        logger.warning("jobs: resent %d stalled chunk(s)", resent)
    return resent


def dispatch_due_jobs():
    """Send deferred jobs whose start is within one countdown; the rest keep waiting in the DB."""
    horizon = lifecycle.db_now_plus(settings.JOBS_MAX_COUNTDOWN)
    due = Job.objects.filter(status=Job.Status.QUEUED, dispatched__isnull=True, run_after__lte=horizon)
    return sum(lifecycle.dispatch_job(job) for job in due.order_by("run_after")[: settings.JOBS_SWEEP_BATCH])


def sweep():
    with sweep_lock() as held:
        if not held:
            return {"skipped": "another sweep is running"}
        return {"dispatched": dispatch_due_jobs(), "resent": recover_stalled_chunks()}


class PeriodicSweep:
    """A daemon thread that sweeps every `interval` seconds (±20 %, so workers started together
    spread out) until stopped. Cheap: an indexed read of expired leases, and on PostgreSQL only one
    sweep at a time (the others skip). Its connection is closed after each sweep, so a pool process
    forked meanwhile inherits none in use."""

    def __init__(self, interval):
        self.interval = float(interval)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="jobs-sweep", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopped.set()

    def _run(self):
        while not self.stopped.wait(self.interval * random.uniform(0.8, 1.2)):
            try:
                sweep()
            except Exception:  # a database that does not answer: try again next time
                logger.exception("jobs: periodic sweep failed")
            finally:
                connections.close_all()
