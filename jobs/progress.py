"""Job events for browsers: rendering a job's card and sending it to the right sockets.

A job's card is rendered on the server and pushed through the channel layer to its owner's group
(or, for staff-only kinds, to the staff group), where jobs.consumers turns it into an htmx
out-of-band swap. `jobs.lifecycle` decides when to publish (it is the only caller of
`publish_job`); this module throttles per job across every worker process (a Redis key with a
short expiry), sends an update the throttle dropped at the end of the interval instead (trailing
edge), and always sends final states. Each event carries `seq` (card_extras: Job.progress_seq, then
the result's stage) so a socket drops a stale card that overtook a newer one.
"""

import asyncio
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from jobs import dispatch
from jobs.conf import settings
from jobs.models import Job
from jobs.registry import get_kind, label_of

logger = logging.getLogger(__name__)

STAFF_GROUP = "jobs-staff"


def user_group(user_id):
    """Every user has exactly one group; a websocket joins only its own user's group."""
    return f"jobs-user-{int(user_id)}"


def session_group(session_key):
    """The sockets opened with one login session (closed when that session logs out)."""
    return "jobs-session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def job_group(job):
    """Staff-only kinds (maintenance, owned by a system user) are followed by every staff member;
    only staff can submit them, so their owner is in that group too."""
    try:
        staff_only = get_kind(job.kind).staff_only
    except LookupError:
        staff_only = False
    return STAFF_GROUP if staff_only else user_group(job.owner_id)


def group_send(group, event):
    """Send from sync code, even when this thread already runs an event loop (then via a helper
    thread, as async_to_sync refuses to run inside a loop)."""
    send = async_to_sync(get_channel_layer().group_send)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        send(group, event)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(send, group, event).result()


def end_session(session_key):
    """Close every socket opened with this session (it logged out): they stop receiving at once."""
    try:
        group_send(session_group(session_key), {"type": "session.ended"})
    except Exception:
        # The sockets still check their session regularly (JOBS_SESSION_RECHECK_SECONDS).
        logger.exception("jobs: could not close the websockets of a session that logged out")


# A chunk asks the throttle after its work is recorded: a Redis that is down or hangs (stopped,
# overloaded) must cost it a second at most, never hold it up (publish_job skips the card then).
THROTTLE_TIMEOUT_SECONDS = 1.0


@lru_cache(maxsize=4)
def _client(url):
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=THROTTLE_TIMEOUT_SECONDS,
        socket_timeout=THROTTLE_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),  # redis-py would try 3 more times
    )


def _redis():
    return _client(settings.JOBS_REDIS_URL)


def throttle_allows(job_id):
    """At most one progress event per interval per job, whichever process asks first."""
    key = f"jobs:progress:{job_id}"
    return bool(_redis().set(key, 1, nx=True, px=settings.JOBS_PROGRESS_INTERVAL_MS))


def schedule_trailing_publish(job_id):
    """The throttle dropped an update: send the job's card once the interval is over, so a page
    never shows a state older than the interval while the next chunk runs long. One pending
    send per job per interval, whichever process asks first."""
    interval = settings.JOBS_PROGRESS_INTERVAL_MS
    if _redis().set(f"jobs:progress-trailing:{job_id}", 1, nx=True, px=interval):
        dispatch.send_trailing_publish(job_id, interval / 1000)


def _kind_of(job):
    try:
        return get_kind(job.kind)
    except LookupError:
        return None


def _hook(job, name):
    """The kind's optional hook `name` called with the job; None when there is none or it fails
    (a card is a view: a broken hook must never break it)."""
    kind = _kind_of(job)
    hook = getattr(kind, name, None) if kind is not None else None
    if hook is None:
        return None
    try:
        return hook(job)
    except Exception:
        logger.exception("jobs: %s of job %s (%s) failed", name, job.pk, job.kind)
        return None


def result_link(job):
    """The kind's ResultLink for this job (e.g. its download), or None."""
    return _hook(job, "result_link")


def byte_meter(job):
    """{done, total, rate, eta} in bytes for kinds that report bytes (JobKind.byte_progress)."""
    measured = _hook(job, "byte_progress")
    if not measured:
        return None
    done, total = measured
    rate = eta = None
    if job.started and done:
        elapsed = ((job.finished or timezone.now()) - job.started).total_seconds()
        rate = done / elapsed if elapsed > 0 else None
    if job.is_active and rate:
        eta = max(0, round((total - done) / rate))
    return {"done": done, "total": total, "rate": rate, "eta": eta}


def card_extras(job):
    """What the job's kind adds to its card: bytes (with rate and ETA), a result link, Retry, and
    the card's `seq`: its place in the job's history, the job's progress_seq and then (once it has
    finished) its result's stage, so "Download" outranks a "Preparing the ZIP…" card rendered
    before it. The seq and the card's link come from the same read, so neither can be newer."""
    kind = _kind_of(job)
    link = result_link(job) if not job.is_active or job.is_making_result else None
    return {
        "bytes": byte_meter(job),
        "link": link,
        "retryable": kind.retryable if kind is not None else True,
        "seq": job.progress_seq * 4 + (min(link.stage, 3) if link else 0),
    }


def render_card(job, *, oob=True, extras=None):
    """The job card (jobs/templates/jobs/_job_card.html); every user string is autoescaped there."""
    kind = _kind_of(job)
    summary = ""
    if kind is not None and job.status in (Job.Status.SUCCEEDED, Job.Status.PARTIAL):
        # A finished job says what it did, in its kind's words ("1,200 of 1,200 moved to trash").
        summary = kind.success_message.format(done=f"{job.done:,}", total=f"{job.total:,}", failed=job.failed)
    extras = card_extras(job) if extras is None else extras
    context = {"job": job, "label": label_of(job.kind), "summary": summary, "oob": oob, "extra": extras}
    return render_to_string("jobs/_job_card.html", {**context, "published": f"{time.time():.6f}"})


def job_event(job):
    """A card as an out-of-band swap of every copy on a page ("html"), and plain ("card") for a
    socket to insert into a page that does not show the job yet."""
    extras = card_extras(job)  # once for both renderings: one read of the kind's hooks
    return {
        "type": "job.update",
        "html": render_card(job, extras=extras),
        "card": render_card(job, oob=False, extras=extras),
        "job": str(job.pk),
        "seq": extras["seq"],
    }


def publish_job(job_id, *, force=False):
    """Send the job's current card to the pages following it; returns whether something was sent."""
    try:
        if not force and not throttle_allows(job_id):
            schedule_trailing_publish(job_id)
            return False
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            return False
        group_send(job_group(job), job_event(job))
    except Exception:
        # Progress is a view of the database, never a reason to fail the work: a page that missed
        # this card converges on its next card or on the snapshot its socket gets on (re)connect.
        logger.exception("jobs: could not publish progress of job %s", job_id)
        return False
    return True
