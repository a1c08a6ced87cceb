"""Pytest plugin (loaded with `-p tests.support.services`, before Django's settings are read).

It gives the test session its own services: a private redis-server on a free port, a private
database name, a temporary MEDIA_ROOT. Everything is torn down when the session ends.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from devtools.processes import start_redis_server, stop_process

_session = {}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    workdir = Path(tempfile.mkdtemp(prefix="mediaflow-test-"))
    _session["workdir"] = workdir
    redis_url, redis_proc = start_redis_server(workdir / "redis")
    _session["redis_proc"] = redis_proc

    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("CELERY_BROKER_URL", redis_url)  # an amqp:// URL given by the caller wins
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["MEDIAFLOW_VAR_DIR"] = str(workdir / "var")
    os.environ["SECRET_KEY"] = "test-secret-key-not-for-production-0123456789"
    os.environ["DEBUG"] = "0"
    os.environ["WHITENOISE_USE_FINDERS"] = "1"
    os.environ["ALLOWED_HOSTS"] = "localhost,127.0.0.1,testserver"
    # Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests make
    # between browser steps are still synchronous and safe (this is the test process only).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    test_db_url = os.environ.get("TEST_DATABASE_URL")
    if test_db_url:
        os.environ["DATABASE_URL"] = test_db_url
        os.environ["MEDIAFLOW_TEST_DB_NAME"] = f"test_mediaflow_{os.getpid()}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"
        os.environ["MEDIAFLOW_TEST_DB_NAME"] = str(workdir / "test_db.sqlite3")


def pytest_unconfigure(config):
    proc = _session.pop("redis_proc", None)
    if proc is not None:
        stop_process(proc)
    workdir = _session.pop("workdir", None)
    if workdir is not None and not os.environ.get("MEDIAFLOW_KEEP_TEST_DIR"):
        shutil.rmtree(workdir, ignore_errors=True)


def pytest_report_header(config):
    return [
        f"mediaflow: redis={os.environ.get('REDIS_URL')} broker={os.environ.get('CELERY_BROKER_URL')}",
        f"mediaflow: database={os.environ.get('DATABASE_URL')}",
        f"mediaflow: test database={os.environ.get('MEDIAFLOW_TEST_DB_NAME')}",
    ]
