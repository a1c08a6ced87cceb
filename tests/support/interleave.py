"""Interleaving two transactions on purpose: threads with their own database connections.

A connection's execute wrapper pauses a thread right after a given query (its rows are read only
when the test lets it go on); on PostgreSQL, pg_stat_activity tells when a transaction waits on a
lock held by another, so the next step starts only then. No sleeps: every wait is on an event.
"""

import threading

import pytest
from django.conf import settings
from django.db import connection

ON_POSTGRESQL = "postgresql" in settings.DATABASES["default"]["ENGINE"]
postgres_only = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="row locks and advisory locks exist on PostgreSQL only; SQLite serialises every writer",
)


class PauseAfter:
    """An execute wrapper: the first query matching `predicate` runs, then the thread waits until
    the test sets `go_on`."""

    def __init__(self, predicate):
        self.predicate = predicate
        self.reached = threading.Event()
        self.go_on = threading.Event()

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.reached.is_set() and self.predicate(sql):
            self.reached.set()
            self.go_on.wait(30)
        return result

    def run(self, target, *args):
        with connection.execute_wrapper(self):
            return target(*args)


def in_thread(target, *args):
    """Run `target` in a thread with its own database connection; returns (thread, outcome dict
    with "result" or "error", and "pid": the PostgreSQL backend of the thread's connection)."""
    outcome = {}
    started = threading.Event()

    def run():
        try:
            if connection.vendor == "postgresql":
                outcome["pid"] = backend_pid()
            started.set()
            outcome["result"] = target(*args)
        except BaseException as exc:  # reported by the test, never swallowed
            outcome["error"] = exc
        finally:
            started.set()
            if connection.vendor == "postgresql":
                flush_statistics()
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(30)
    return thread, outcome


def finish(thread, outcome, timeout=30):
    thread.join(timeout)
    assert not thread.is_alive(), "the thread is still running"
    assert "error" not in outcome, outcome
    return outcome["result"]


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def waits_on_a_lock(pid):
    """PostgreSQL: backend `pid` is blocked on a lock (row, transaction or advisory) held elsewhere."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is frozen
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def deadlocks_detected():
    """PostgreSQL: how many deadlocks the server has broken up in this database so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def flush_statistics():
    """PostgreSQL: publish this connection's statistics (e.g. a deadlock it lost) right away."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
