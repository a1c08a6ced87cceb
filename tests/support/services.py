"""Pytest plugin (loaded with `-p tests.support.services`, before Django's settings are read).

It gives the test session its own services: a private redis-server, a private database name, a
temporary MEDIA_ROOT. Everything is torn down when the session ends.

Redis starts lazily. Settings read REDIS_URL when they are imported, so the URL (a port free now)
is set here, at load time; redis-server itself starts on that port before the first test marked
`services` runs. A session of tests that need no service (`pytest -m "not services"`) never starts
it: a test that reaches Redis anyway fails with "connection refused" and needs the marker.

The `services` marker is applied at collection to every test that
- uses a fixture that starts or needs a service process (SERVICE_FIXTURES, through any fixture
  that depends on one),
- lives in tests/browser/ or tests/installed/,
- is in a module that imports a function starting a service (SERVICE_STARTERS) from devtools,
so a new test is marked by what it uses; the rest say `pytest.mark.services` themselves.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from devtools.processes import free_port, start_redis_server, stop_process

_session = {}
# The environment pytest was started with, for what must not run inside the test session's
# (tests/installed runs the product as a user would).
original_environ = dict(os.environ)

# Fixtures (tests/conftest.py) whose use means the test needs Redis or a service process.
SERVICE_FIXTURES = frozenset({
    "redis_url", "celery_worker", "bulk_to_ourselves", "live_server_url", "browser", "page",
    "seaweedfs", "s3_storage", "s3_celery_worker", "only_s3_worker", "s3_live_server_url",
})  # fmt: skip
# Functions of devtools that start a service; a test module that imports one runs services itself.
SERVICE_STARTERS = frozenset({
    "start_celery_worker", "start_daphne", "start_redis_server", "start_seaweedfs", "start_python",
})  # fmt: skip
SERVICE_DIRS = ("browser", "installed")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    workdir = Path(tempfile.mkdtemp(prefix="mediaflow-test-"))
    _session["workdir"] = workdir
    port = free_port()
    _session["redis_port"] = port
    redis_url = f"redis://127.0.0.1:{port}/0"

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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "services: needs Redis or a service process (worker, daphne, SeaweedFS, chromium)"
    )


def ensure_redis():
    """Start the session's redis-server on its reserved port, once; returns its URL."""
    if "redis_proc" not in _session:
        url, proc = start_redis_server(_session["workdir"] / "redis", port=_session["redis_port"])
        _session["redis_proc"] = proc
        _session["redis_url"] = url
    return _session["redis_url"]


@pytest.fixture(scope="session")
def redis_url():
    """The session's redis-server (started on first use): REDIS_URL and the broker."""
    return ensure_redis()


def needs_services(item):
    if item.get_closest_marker("services"):
        return True
    if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if Path(str(item.path)).parent.name in SERVICE_DIRS:
        return True
    module = getattr(item, "module", None)
    return module is not None and any(
        name in SERVICE_STARTERS and str(getattr(value, "__module__", "")).startswith("devtools.")
        for name, value in vars(module).items()
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # tryfirst: before `-m` deselects by marker
    for item in items:
        if needs_services(item) and not item.get_closest_marker("services"):
            item.add_marker(pytest.mark.services)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before the test's fixtures: a session-scoped worker or daphne finds Redis answering.
    if item.get_closest_marker("services"):
        ensure_redis()


def pytest_unconfigure(config):
    proc = _session.pop("redis_proc", None)
    if proc is not None:
        stop_process(proc)
    workdir = _session.pop("workdir", None)
    if workdir is not None and not os.environ.get("MEDIAFLOW_KEEP_TEST_DIR"):
        shutil.rmtree(workdir, ignore_errors=True)


def pytest_report_header(config):
    return [
        f"mediaflow: redis={os.environ.get('REDIS_URL')} (started by the first `services` test)"
        f" broker={os.environ.get('CELERY_BROKER_URL')}",
        f"mediaflow: database={os.environ.get('DATABASE_URL')}",
        f"mediaflow: test database={os.environ.get('MEDIAFLOW_TEST_DB_NAME')}",
    ]
