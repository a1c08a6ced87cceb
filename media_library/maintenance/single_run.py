"""A lock in Redis that guarantees a maintenance task never runs twice at once.

Built on redis-py's Lock: SET NX with an expiry, and a release that deletes the key only when it
still holds our token (a Lua compare-and-delete), so an expired-and-retaken lock is never freed by
its former holder. The token can travel (as JSON) to whoever finishes the work, e.g. the last
chunk of a job, which then releases it.
"""

import redis
from django.conf import settings
from redis.exceptions import LockError


def _client():
    return redis.Redis.from_url(settings.REDIS_URL)


def lock_key(name):
    return f"mediaflow:single-run:{name}"


def try_acquire(name, timeout_seconds):
    """Take the lock without waiting. Returns its token, or None when someone else holds it."""
    lock = _client().lock(lock_key(name), timeout=timeout_seconds, blocking=False, thread_local=False)
    if not lock.acquire():
        return None
    return lock.local.token.decode()


def release(name, token):
    """Release the lock if (and only if) `token` still holds it. Returns True when released."""
    lock = _client().lock(lock_key(name), thread_local=False)
    lock.local.token = token.encode()
    try:
        lock.release()
    except LockError:  # expired, or taken by another holder since: not ours to free
        return False
    return True


def holder_ttl(name):
    """Seconds until the lock expires (None when nobody holds it)."""
    ttl = _client().ttl(lock_key(name))
    return ttl if ttl and ttl > 0 else None


def clear(name):
    """Drop the lock whoever holds it (operators, after a crash or for a deploy)."""
    return bool(_client().delete(lock_key(name)))
