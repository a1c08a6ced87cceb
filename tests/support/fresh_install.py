"""A brand-new, empty database of the session's engine, migrated by `manage.py migrate` in a
subprocess: what a user's first `make run` starts from, with nothing a test fixture made."""

import json
import subprocess
import sys
import uuid
from contextlib import contextmanager

from django.db import connection

from devtools.processes import ROOT, child_env


@contextmanager
def fresh_database_url(tmp_path):
    """The URL of an empty database (SQLite file, or a new PostgreSQL database dropped after)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg

    settings = connection.settings_dict
    name = f"mediaflow_fresh_{uuid.uuid4().hex[:12]}"
    params = {
        "host": settings.get("HOST") or None,
        "port": settings.get("PORT") or None,
        "user": settings.get("USER") or None,
        "password": settings.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    user = f"{settings['USER']}@" if settings.get("USER") else ""
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    try:
        yield f"postgres://{user}{settings.get('HOST') or '127.0.0.1'}{port}/{name}"
    finally:
        with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database_url, *args, env=None):
    """Run `manage.py ARGS` against `database_url`; returns its stdout (raises on failure)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env(database_url, **(env or {})),
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def shell_json(database_url, code):
    """Evaluate Python `code` (which must print one JSON document) in `manage.py shell`."""
    return json.loads(manage(database_url, "shell", "-c", code).strip().splitlines()[-1])
