"""Mediaflow settings: every knob comes from the environment, with a local default.

docs/configuration.md lists each variable.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from project.content_security_policy import media_origins
from project.media_storage import media_storage
from project.redis_location import resolve_redis_url
from project.secret_key import load_or_create_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MEDIAFLOW_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Safe by default: debug pages (tracebacks, settings) only when asked for with DEBUG=1.
DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY in the environment, one is generated into var/ on first start and reused.
# Several web hosts must share one key: set SECRET_KEY on each of them.
SECRET_KEY = os.environ.get("SECRET_KEY") or load_or_create_secret_key(VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "django_celery_results",
    "django_celery_beat",
    "axes",
    "jobs",
    "media_library",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "project.content_security_policy.ContentSecurityPolicyMiddleware",  # SECURE_CSP, below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "project.storage_errors.StorageUnavailableMiddleware",  # a storage outage is a 503, not a 500
    "project.redis_errors.RedisUnavailableMiddleware",  # so is a Redis outage, where Redis is needed
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its 429 page
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# Seconds a database connection is reused (0: one per request/task). Across hosts, a persistent
# connection spares a TCP + auth round trip per request; health checks drop a dead one first.
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", 0))
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=CONN_MAX_AGE > 0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; IMMEDIATE transactions take the
    # write lock up front so two writers queue on the busy timeout instead of deadlocking.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # TCP keepalives on every connection (libpq's, kept when the URL sets them): across hosts, a
    # connection whose peer vanished (a cut link, a dead VM) is found dead in about
    # idle + interval x count seconds instead of the kernel's two hours. PG_TCP_USER_TIMEOUT (ms)
    # also bounds a send that goes unacknowledged; 0 keeps the system's default.
    _pg_tcp = {
        "keepalives": int(os.environ.get("PG_KEEPALIVES", 1)),
        "keepalives_idle": int(os.environ.get("PG_KEEPALIVES_IDLE", 60)),
        "keepalives_interval": int(os.environ.get("PG_KEEPALIVES_INTERVAL", 10)),
        "keepalives_count": int(os.environ.get("PG_KEEPALIVES_COUNT", 6)),
        "tcp_user_timeout": int(os.environ.get("PG_TCP_USER_TIMEOUT", 0)),
    }
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    for _name, _value in _pg_tcp.items():
        _pg_options.setdefault(_name, _value)
if os.environ.get("MEDIAFLOW_TEST_DB_NAME"):
    # Set by the test plugin so concurrent test sessions never share a database.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["MEDIAFLOW_TEST_DB_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# --- Login throttling (django-axes; project/login_throttle.py) -------------------------------
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one client address lock that pair
# out for LOGIN_COOLOFF_MINUTES (429, on /login/ and /admin/login/); other users and other
# addresses are not affected. Failures are counted in the database, so every web host sees them.
AUTHENTICATION_BACKENDS = [
    "project.login_throttle.LoginThrottleBackend",  # first: refuses a locked-out pair outright
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a user who mistyped a few times and then got in starts again from 0
AXES_LOCKOUT_CALLABLE = "project.login_throttle.lockout_response"  # 429 + registration/locked_out.html
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (admin: Axes); a row per successful login is not
# The client address is the TCP peer unless TRUSTED_PROXY_COUNT reverse proxies stand in front and
# append it to X-Forwarded-For; never a header a client could set by itself.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0))
AXES_CLIENT_IP_CALLABLE = "project.login_throttle.client_address"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the finders when DEBUG (no collectstatic needed while developing).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-not-public/"  # bytes are served only through owner-checked views
# MEDIA_STORAGE=local (this disk, under MEDIA_ROOT) or s3 (AWS_* variables; project/media_storage.py).
# Static files stay on each web host, served by whitenoise.
STORAGES = {
    "default": media_storage(os.environ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", 80_000_000))
# Uploads stream to temporary files on disk beyond this size, keeping the web process small.
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
FILE_UPLOAD_TEMP_DIR = os.environ.get("FILE_UPLOAD_TEMP_DIR") or None
# An upload past MAX_UPLOAD_BYTES stops reaching the disk there (it is then rejected as too large).
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "media_library.upload_handlers.SizeCappedTemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = int(os.environ.get("DATA_UPLOAD_MAX_NUMBER_FILES", 1000))
# Enforced by the web server (project.web_server) as a body streams in, before Django reads it:
# any request's body, and the body of a request without a session cookie or Bearer token.
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES", 1024**3))
ANONYMOUS_MAX_REQUEST_BYTES = int(os.environ.get("ANONYMOUS_MAX_REQUEST_BYTES", 64 * 1024))
TRASH_RETENTION_DAYS = int(os.environ.get("TRASH_RETENTION_DAYS", 30))
# ZIP downloads (media_library.archives): kept this long after they are ready, then removed.
ARCHIVE_RETENTION_HOURS = float(os.environ.get("ARCHIVE_RETENTION_HOURS", 24))
# One chunk of an archive job takes at most this many files and, past its first file, this many
# bytes: a chunk's time stays bounded (seconds) whether it holds tiny files or big ones.
ARCHIVE_CHUNK_FILES = int(os.environ.get("ARCHIVE_CHUNK_FILES", 1000))
ARCHIVE_CHUNK_BYTES = int(os.environ.get("ARCHIVE_CHUNK_BYTES", 64 * 1024 * 1024))

# --- Redis, Celery, Channels ----------------------------------------------------------------
# Unset: the Redis this install's `make run` started (its URL is in var/redis.url), so a command
# typed in another terminal reaches the same one; with no `make run` either, redis://127.0.0.1:6379/0.
REDIS_URL = resolve_redis_url(os.environ, VAR_DIR)

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_IS_REDIS = CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker whose Redis goes away retries for as long as it takes (Celery gives up after 100 tries,
# ~45 minutes, and exits), and lets the chunks it is running finish: each records its outcome in
# the database, so the message that can no longer be acked changes nothing when it comes back.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = 7 * 24 * 3600  # pruned by celery.backend_cleanup (scheduled by beat)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TRACK_STARTED = True
# django-celery-beat's DatabaseScheduler behind a Redis lease: start beat on several hosts and
# only one dispatches, the others stand by (project/beat.py). The lease runs out this long after
# its beat dies; a standby then takes over.
CELERY_BEAT_SCHEDULER = "project.beat:SingleBeatScheduler"
BEAT_LEASE_SECONDS = float(os.environ.get("BEAT_LEASE_SECONDS", 30))
if BEAT_LEASE_SECONDS < 3:
    raise ImproperlyConfigured("BEAT_LEASE_SECONDS must be at least 3 (it is renewed every third of it).")
CELERY_BEAT_SYNC_EVERY = 1  # last_run_at is written after every dispatch, for a beat that takes over

# Redis hands an unacked message to another worker after this long: far longer than a job chunk
# may run and than any countdown (the jobs app checks that at start, jobs.checks).
CELERY_BROKER_VISIBILITY_TIMEOUT = 3600

# Two queues by shape of work. Priority levels 0..9 exist on both brokers; RabbitMQ needs the
# queue declared with x-max-priority, Redis emulates them with one list per step.
CELERY_TASK_QUEUES = [
    Queue(
        "interactive",
        Exchange("interactive"),
        routing_key="interactive",
        queue_arguments={"x-max-priority": 9},
    ),
    Queue("bulk", Exchange("bulk"), routing_key="bulk", queue_arguments={"x-max-priority": 9}),
]
CELERY_TASK_DEFAULT_QUEUE = "interactive"
CELERY_TASK_CREATE_MISSING_QUEUES = False
CELERY_TASK_ROUTES = {
    "jobs.tasks.run_chunk": {"queue": "bulk"},
    "jobs.tasks.*": {"queue": "interactive"},
    "media_library.tasks.*": {"queue": "bulk"},
    "project.tasks.*": {"queue": "interactive"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "priority_steps": list(range(10)),
    "sep": ":",
    "queue_order_strategy": "priority",
}
CELERY_TASK_DEFAULT_PRIORITY = 5
CELERY_WORKER_SEND_TASK_EVENTS = False

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 300, "expiry": 30},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},  # its version banner, in every process and command
    },
}

# --- Jobs engine ----------------------------------------------------------------------------
# Every JOBS_* setting has its default in jobs/conf.py; only those given in the environment are set.
for _name, _parse in {
    "JOB_CHUNK_SOFT_TIME_LIMIT": int,
    "JOBS_HEARTBEAT_SECONDS": float,
    "JOBS_CLAIM_LEASE_SECONDS": float,
    "JOBS_SWEEP_SECONDS": float,
    "JOBS_QUEUED_LEASE_SECONDS": float,
    "JOBS_MAX_RETRIES": int,
    "JOBS_RETRY_BACKOFF_BASE": float,
    "JOBS_RETRY_BACKOFF_MAX": float,
    "JOBS_INTERACTIVE_EXPIRES": int,
    "JOBS_PROGRESS_INTERVAL_MS": int,
    "JOBS_MAX_DELIVERIES": int,
}.items():
    if os.environ.get(_name):
        globals()[_name] = _parse(os.environ[_name])
if os.environ.get("JOBS_EXTRA_KIND_MODULES"):  # e.g. the tests' kinds, for their worker and web processes
    JOBS_EXTRA_KIND_MODULES = env_list("JOBS_EXTRA_KIND_MODULES", "")
# Synced into django-celery-beat's tables by the DatabaseScheduler (editable in the admin).
CELERY_BEAT_SCHEDULE = {
    "jobs-sweep": {"task": "jobs.tasks.sweep", "schedule": 60.0, "options": {"expires": 50}},
    # Under celery's own key, so beat runs this batched prune instead of its built-in daily
    # backend_cleanup (one unbounded DELETE in one transaction).
    "celery.backend_cleanup": {"task": "jobs.tasks.prune_task_results", "schedule": 3600.0},
}
# redis-py 8's asyncio client defaults to a 5 s socket timeout, equal to channels-redis' 5 s
# blocking BZPOPMIN: an idle websocket's consumer died with "Timeout reading" after ~5 s. A longer
# socket timeout keeps idle job pages connected (tests/jobs/test_jobs_progress.py).
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [{"address": REDIS_URL, "socket_timeout": 30}]

# --- HTTPS and security headers -------------------------------------------------------------
# BEHIND_HTTPS_PROXY=1: the site is served over HTTPS by a reverse proxy (nginx, Caddy, a load
# balancer) that terminates TLS and sets X-Forwarded-Proto on every request (and strips any the
# client sent). Cookies are then sent over HTTPS only, Django takes the proxy's word that a
# request was HTTPS (CSRF origin checks, websocket origins, absolute URLs), and browsers are told
# to use HTTPS only (HSTS). The proxy redirects plain HTTP; SECURE_SSL_REDIRECT=1 makes Django do it.
BEHIND_HTTPS_PROXY = env_bool("BEHIND_HTTPS_PROXY", False)
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = BEHIND_HTTPS_PROXY
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31_536_000 if BEHIND_HTTPS_PROXY else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Content-Security-Policy on every response (project/content_security_policy.py; Django 6.0's
# setting of the same name and shape). Scripts and styles come from this site's static files
# only; the job cards' progress bars are drawn without style attributes. Websockets to this
# site are 'self'; thumbnails may be redirected to the S3 endpoint.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", *media_origins(os.environ)],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
