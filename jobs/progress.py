"""The one place that publishes job events to browsers (through the channel layer).

A job's card is rendered on the server and pushed to its owner's group as an htmx out-of-band
swap. Publishing is throttled per job across every worker process (a Redis key with a short
expiry), and the final state is always sent. Each event carries `seq` (see Job.progress_seq)
so a socket can drop a stale card that overtook a newer one.
"""

import time
from functools import lru_cache

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string


def user_group(user_id):
    """Every user has exactly one group; a websocket joins only its own user's group."""
    return f"jobs-user-{int(user_id)}"


def send_to_user(user_id, html):
    """Push a server-rendered HTML fragment to every open page of this user."""
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(user_group(user_id), {"type": "job.update", "html": html})


@lru_cache(maxsize=1)
def _redis():
    return redis.Redis.from_url(settings.REDIS_URL)


def throttle_allows(job_id):
    """At most one progress event per interval per job, whichever process asks first."""
    key = f"jobs:progress:{job_id}"
    return bool(_redis().set(key, 1, nx=True, px=settings.JOBS_PROGRESS_INTERVAL_MS))


def render_card(job, *, oob=True):
    """The job card (templates/jobs/_job_card.html); every user string is autoescaped there."""
    from jobs.registry import get_kind

    try:
        label = get_kind(job.kind).label
    except LookupError:
        label = job.kind
    return render_to_string(
        "jobs/_job_card.html", {"job": job, "label": label, "oob": oob, "published": f"{time.time():.6f}"}
    )


def job_event(job):
    return {"type": "job.update", "html": render_card(job), "job": str(job.pk), "seq": job.progress_seq}


def publish_job(job_id, *, force=False):
    """Send the job's current card to its owner's pages; returns whether something was sent."""
    from jobs.models import Job

    if not force and not throttle_allows(job_id):
        return False
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return False
    if not job.is_active:
        force = True  # the final state is never throttled away
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(user_group(job.owner_id), job_event(job))
    return True
