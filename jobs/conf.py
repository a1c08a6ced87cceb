"""The jobs engine's settings, each with a default, so the app runs with none of them set.

`from jobs.conf import settings` and read `settings.JOBS_CLAIM_LEASE_SECONDS`: a project's Django setting
of that name wins, read at the moment it is used (so tests can override it); otherwise the
default below. A default may be derived from other settings (a callable of this object).
"""

from celery import current_app
from django.conf import settings as django_settings

DEFAULTS = {
    # Work per chunk task is bounded: a chunk is stopped (soft, then hard) long before a broker
    # would think its message lost and hand it to another worker.
    "JOB_CHUNK_SOFT_TIME_LIMIT": 300,
    "JOB_CHUNK_TIME_LIMIT": lambda conf: conf.JOB_CHUNK_SOFT_TIME_LIMIT + 60,
    # A running chunk's claim is trusted JOBS_CLAIM_LEASE_SECONDS past its last renewal: the pool
    # process running it renews it every JOBS_HEARTBEAT_SECONDS (jobs.heartbeat), so a long chunk
    # keeps it and a dead worker's chunk is free again within one lease. Every worker sweeps every
    # JOBS_SWEEP_SECONDS (0: never; beat's sweep still runs), so the chunk runs again within
    # about lease + sweep interval of its worker's death.
    "JOBS_HEARTBEAT_SECONDS": 5.0,
    "JOBS_CLAIM_LEASE_SECONDS": lambda conf: 3 * float(conf.JOBS_HEARTBEAT_SECONDS),
    "JOBS_SWEEP_SECONDS": 5.0,
    # A sent but unclaimed chunk is trusted this long; then the sweep sends it again.
    "JOBS_QUEUED_LEASE_SECONDS": 600,
    # A chunk whose worker died (killed, out of memory, a crash in native code) this many times is
    # not delivered again: its items fail with WORKER_DIED and the job goes on.
    "JOBS_MAX_DELIVERIES": 3,
    # Longest wait parked in the broker (retry back-off, undo window); longer waits stay in the DB.
    "JOBS_MAX_COUNTDOWN": 60,
    "JOBS_MAX_RETRIES": 5,
    "JOBS_RETRY_BACKOFF_BASE": 2.0,
    "JOBS_RETRY_BACKOFF_MAX": 60.0,
    # An interactive chunk still queued after this long is moved to the bulk queue.
    "JOBS_INTERACTIVE_EXPIRES": 300,
    "JOBS_SMALL_JOB": 5000,  # bulk jobs up to this many ids run ahead of bigger ones
    "JOBS_PROGRESS_INTERVAL_MS": 250,  # at most ~4 cards a second per job
    "JOBS_SWEEP_BATCH": 500,
    "JOBS_RESULT_PRUNE_BATCH": 2000,
    # Modules that register job kinds, imported when the app is ready (e.g. test-only kinds).
    "JOBS_EXTRA_KIND_MODULES": (),
    # The Redis shared by every process for the progress throttle.
    "JOBS_REDIS_URL": lambda conf: getattr(django_settings, "REDIS_URL", "redis://127.0.0.1:6379/0"),
    # How often an open websocket checks that its session is still logged in (seconds).
    "JOBS_SESSION_RECHECK_SECONDS": 5,
    # Redis serves priority 0 first, RabbitMQ 9: the engine maps its priorities per broker.
    "CELERY_BROKER_IS_REDIS": lambda conf: str(current_app.conf.broker_url or "").startswith(
        ("redis://", "rediss://", "unix://", "sentinel://")
    ),
}


class Settings:
    def __getattr__(self, name):
        try:
            default = DEFAULTS[name]
        except KeyError:
            raise AttributeError(f"jobs has no setting {name!r}") from None
        if hasattr(django_settings, name):
            return getattr(django_settings, name)
        return default(self) if callable(default) else default


settings = Settings()
