"""Run a command and start it again when it dies, for the long-running processes of `make run`.

honcho stops every process as soon as one exits, and a worker may exit when Redis dies: with
Celery 5.7 / kombu 5.7, a worker holding unacknowledged messages (a running chunk, a countdown
task) closes its lost connection after collect() has dropped the transport, the channel's restore
of those messages fails with AttributeError("'NoneType' object has no attribute 'hostname'"),
and Celery ends the worker ("Unrecoverable error"). Under this wrapper a process that exits on its
own is started again after a short back-off (a second or two), so a Redis outage never takes the
others down. What it was doing is recorded in the database: a chunk it held without finishing
is sent again by the jobs sweep once its lease runs out (messages in the queues are untouched).

It stops for good, with the child's status, when it is told to (SIGTERM/SIGINT/SIGHUP, as honcho
and Ctrl-C send), or when the child keeps dying within seconds of starting (a broken
configuration must still stop `make run`, not loop). Multi-host roles (scripts/role.sh) leave
restarting to their own supervisor (systemd, Kubernetes).

Usage: python scripts/respawn.py COMMAND [ARG...]
"""

import signal
import subprocess
import sys
import time

QUICK_EXIT_SECONDS = 10  # a child that dies sooner than this counts as a failed start
MAX_QUICK_EXITS = 5
MAX_BACKOFF_SECONDS = 30


def log(message):
    print(f"[respawn] {message}", file=sys.stderr, flush=True)


def exit_status(code):
    """A child killed by a signal (Popen says -N) exits as a shell reports it: 128 + N."""
    return code if code >= 0 else 128 - code


def main(command):
    child = None
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        # SIGINT comes from a terminal to the whole group, the child included: a second one would
        # make a Celery worker shut down cold. SIGTERM twice is harmless (honcho signals the group).
        if signum != signal.SIGINT and child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)

    quick_exits, backoff = 0, 1.0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping:
            return exit_status(code)
        quick_exits = quick_exits + 1 if time.monotonic() - started < QUICK_EXIT_SECONDS else 0
        if quick_exits >= MAX_QUICK_EXITS:
            log(f"{command[0]} exited with {code} {quick_exits} times right after starting; giving up")
            return exit_status(code) or 1
        backoff = backoff * 2 if quick_exits else 1.0
        delay = min(backoff, MAX_BACKOFF_SECONDS)
        log(f"{' '.join(command[:4])} exited with {code}; starting it again in {delay:.0f}s")
        deadline = time.monotonic() + delay
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return exit_status(code)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
