"""Reading job cards out of websocket messages (server-rendered HTML fragments)."""

import re
import time

CARD = re.compile(r'<article id="job-(?P<id>[0-9a-f-]{36})"(?P<attrs>[^>]*)>')
ATTR = re.compile(r'data-(status|done|failed|total|published)="([^"]*)"')


def cards(message):
    """[(job id, {"status", "done", "failed", "total", ...})] for each card in one message."""
    found = []
    for match in CARD.finditer(message):
        attrs = dict(ATTR.findall(match.group("attrs")))
        for key in ("done", "failed", "total"):
            attrs[key] = int(attrs[key])
        found.append((match.group("id"), attrs))
    return found


def follow_job(socket, job_id, timeout=30):
    """Receive messages until this job's card is final; returns the job's card states in order."""
    job_id, states = str(job_id), []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = socket.recv(timeout=max(0.1, deadline - time.monotonic()))
        for card_id, attrs in cards(message):
            if card_id == job_id:
                states.append(attrs)
                if attrs["status"] not in ("queued", "running", "cancelling"):
                    return states
    raise TimeoutError(f"job {job_id} did not finish; saw {states}")
