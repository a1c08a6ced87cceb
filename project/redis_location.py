"""Which Redis this install's processes talk to.

`make run` starts a private redis-server on a free port and exports its URL to the processes it
starts. A command typed in another terminal (`manage.py clear_purge_lock`, `manage.py shell`,
`celery -A project inspect ping`) does not inherit that export, so `make run` also writes the URL
to var/redis.url, and a process with REDIS_URL unset reads it from there: every command of an
install finds the Redis its `make run` started, never a stranger's on the default port.
"""

import os
from pathlib import Path

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
URL_FILE_NAME = "redis.url"


def redis_url_file(var_dir) -> Path:
    return Path(var_dir) / URL_FILE_NAME


def resolve_redis_url(environ, var_dir) -> str:
    """REDIS_URL from the environment; else the URL `make run` wrote under var_dir; else the default."""
    if environ.get("REDIS_URL"):
        return environ["REDIS_URL"]
    try:
        written = redis_url_file(var_dir).read_text().strip()
    except FileNotFoundError:
        return DEFAULT_REDIS_URL
    return written or DEFAULT_REDIS_URL


def write_redis_url(var_dir, url) -> Path:
    """Record `url` as this install's Redis (atomically: a reader never sees half a URL)."""
    path = redis_url_file(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold a password
    with os.fdopen(descriptor, "w") as handle:
        handle.write(url + "\n")
    os.replace(temporary, path)
    return path
