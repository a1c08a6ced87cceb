"""A running chunk's heartbeat: its claim stays alive while its worker does, and no longer.

A claim's lease is short (JOBS_CLAIM_LEASE_SECONDS), so a worker that dies (SIGKILL, the OOM
killer, a lost host) frees its chunk within one lease and the sweep sends it again. While the
handler runs, a thread of the same process renews the lease every JOBS_HEARTBEAT_SECONDS, for this
claim only (jobs.lifecycle.renew_claim: compare-and-set on status, attempt and deliveries, the new
end on the database's clock), so a chunk longer than the lease keeps it.

A claim that cannot be renewed must not run on past its lease, or two attempts would run at once.
A second thread, which never touches the database, watches the time: when no renewal got through
for a lease less one heartbeat — measured on this process's monotonic clock from the moment the
last good renewal was sent, which is no later than the database's now() that set its end — or
when a renewal finds the claim taken, it stops the process with SIGKILL, as the hard time limit
does: nothing else stops native code or a blocked socket for certain. Nothing the process did
commits: the chunk's record is a compare-and-set on the claim. The worker's parent requeues the
message and replaces the process, as after any other death.

Only non-atomic handlers need it, and only while they run: an atomic handler runs in the
transaction that locked the chunk row to record it, and that lock guards the claim until it ends
(the sweep skips locked rows; on SQLite the transaction holds the write lock; a dead worker's
connection closes and its lock goes with it), however long its lease has been over.
"""

import logging
import os
import signal
import threading
import time

from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from jobs import lifecycle
from jobs.conf import settings

logger = logging.getLogger(__name__)

# Set in a Celery worker (signals.mark_worker_process): only there may a lost claim kill its process.
IN_WORKER = {"value": False}


def stop_this_process(claimed, why):
    logger.error("jobs: chunk %s of job %s %s: stopping this process", claimed.index, claimed.job_id, why)
    if IN_WORKER["value"]:
        os.kill(os.getpid(), signal.SIGKILL)
    # Run in-process (eager tests): nothing to kill; the record's compare-and-set still holds.


class Heartbeat:
    """`with Heartbeat(claimed):` around the part of a chunk that runs without its row locked (a
    claim from jobs.lifecycle.claim, whose `lease_from` is the monotonic time its lease began)."""

    def __init__(self, claimed, *, on_lost=stop_this_process):
        self.claimed, self.on_lost = claimed, on_lost
        self.interval = float(settings.JOBS_HEARTBEAT_SECONDS)
        self.lease = float(settings.JOBS_CLAIM_LEASE_SECONDS)
        if not 0 < 3 * self.interval <= self.lease:
            raise ImproperlyConfigured(
                "JOBS_CLAIM_LEASE_SECONDS must be at least 3 x JOBS_HEARTBEAT_SECONDS (> 0): "
                f"{self.lease} and {self.interval}"
            )
        self.renewals = 0
        self._guard = threading.Lock()
        self._stopped = threading.Event()
        self._safe_until = claimed.lease_from + self.lease  # the database's lease ends no sooner
        self._threads = [
            threading.Thread(target=self._renew, name="jobs-heartbeat", daemon=True),
            threading.Thread(target=self._watch, name="jobs-heartbeat-watch", daemon=True),
        ]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        """The handler is over (the runner records next, or retries): never act on the claim again."""
        with self._guard:
            self._stopped.set()

    def _lost(self, why):
        with self._guard:
            if self._stopped.is_set():
                return  # the runner locked the row or finished meanwhile: the claim is not ours to judge
            self._stopped.set()
            self.on_lost(self.claimed, why)

    def _renew(self):
        try:
            while not self._stopped.wait(self.interval):
                sent = time.monotonic()
                try:
                    held = lifecycle.renew_claim(self.claimed)
                except Exception as exc:  # the database did not answer: the watch decides when to give up
                    logger.warning("jobs: heartbeat of chunk %s failed: %r", self.claimed.index, exc)
                    connections.close_all()
                    continue
                if not held:
                    self._lost("lost its claim (taken after its lease ran out, or recorded)")
                    return
                with self._guard:
                    self._safe_until = max(self._safe_until, sent + self.lease)
                    self.renewals += 1
        finally:
            connections.close_all()  # this thread's own connection

    def _watch(self):
        while True:
            with self._guard:
                left = self._safe_until - self.interval - time.monotonic()
            if left <= 0:
                self._lost(f"could not renew its lease for {self.lease - self.interval:.1f}s")
                return
            if self._stopped.wait(left):
                return
