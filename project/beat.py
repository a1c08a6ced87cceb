"""Exactly one beat dispatches, however many are started: a lease in Redis decides which.

Every beat runs `SingleBeatScheduler` (CELERY_BEAT_SCHEDULER): django-celery-beat's database
scheduler that, before each tick, must hold the lease `LEASE_KEY` in REDIS_URL (the Redis every
host shares). The lease is taken with SET NX and a TTL of BEAT_LEASE_SECONDS, and renewed on every
tick, at most a third of the TTL apart, only while it still carries this beat's token. Another beat
finds it taken and stands by, asking again every few seconds; when the active beat dies its lease
runs out and a standby takes over. A beat that stops cleanly gives the lease back at once.

A beat that cannot renew (the lease ran out, say after a long pause, or Redis does not answer)
sends nothing until it holds the lease again, so two beats never dispatch at the same time.
Each dispatch is recorded in the database before the next sleep (CELERY_BEAT_SYNC_EVERY = 1), so
a standby that takes over knows what already ran.
"""

import logging
import os
import socket
import uuid

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler
from redis.exceptions import LockNotOwnedError

logger = logging.getLogger(__name__)

LEASE_KEY = "mediaflow:beat:leader"


def beat_token():
    """Who holds the lease, readable by an operator: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_holder(client):
    """The token of the beat holding the lease now, or None."""
    value = client.get(LEASE_KEY)
    return value.decode() if value is not None else None


class SingleBeatScheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self.lease_seconds = float(settings.BEAT_LEASE_SECONDS)
        self.token = beat_token()
        self.leading = False
        self._standby_logged = False
        self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        # redis-py's Lock: SET NX PX to take it; renewal and release are Lua scripts that check
        # the token, so a beat can only renew or give back its own lease.
        self._lease = self._redis.lock(
            LEASE_KEY, timeout=self.lease_seconds, blocking=False, thread_local=False
        )
        super().__init__(*args, **kwargs)
        self.max_interval = min(self.max_interval, self.lease_seconds / 3)

    def tick(self, *args, **kwargs):
        if not self.hold_lease():
            return self.max_interval
        interval = super().tick(*args, **kwargs)
        if self.should_sync():  # record a dispatch now, not after the sleep a kill may cut short
            self._do_sync()
        return interval

    def hold_lease(self):
        """Take or renew the lease; True when this beat may dispatch now."""
        try:
            if self.leading:
                self._lease.reacquire()
            elif self._lease.acquire(token=self.token):
                self.leading, self._standby_logged = True, False
                logger.warning(
                    "beat %s is the active beat (lease %s, %ss)", self.token, LEASE_KEY, self.lease_seconds
                )
            elif not self._standby_logged:
                self._standby_logged = True
                logger.warning(
                    "beat %s stands by: %s is the active beat", self.token, lease_holder(self._redis)
                )
        except LockNotOwnedError:
            self.leading = False
            logger.error("beat %s lost its lease before renewing it: standing by", self.token)
        except redis.RedisError as exc:
            # The lease may still be ours; send nothing until that is known again.
            logger.error(
                "beat %s cannot reach Redis to renew its lease (%s): not dispatching", self.token, exc
            )
            return False
        return self.leading

    def close(self):
        try:
            super().close()
        finally:
            if self.leading:
                try:
                    self._lease.release()
                    logger.warning("beat %s gave its lease back", self.token)
                except (LockNotOwnedError, redis.RedisError):
                    pass  # expired or unreachable: the TTL frees it anyway
                self.leading = False
