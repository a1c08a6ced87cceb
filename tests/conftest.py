import os
from pathlib import Path

import pytest
from django.db import connection

from devtools.processes import start_celery_worker, start_daphne, stop_process
from devtools.seaweedfs import start_seaweedfs


def subprocess_database_url():
    """A URL for the test database that other processes (worker, daphne) can open."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{auth}{settings.get('HOST') or ''}{port}/{settings['NAME']}"


# Rows that data migrations create and tests must not make themselves (the shipped beat schedules).
# Transactional tests flush the database after each test, so the rows are copied right after the
# test database is migrated and put back by `migrated_beat_rows` for the tests that need them.
MIGRATED_MODELS = (
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.IntervalSchedule",
    "django_celery_beat.SolarSchedule",
    "django_celery_beat.ClockedSchedule",
    "django_celery_beat.PeriodicTask",
)
_migrated = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.apps import apps
    from django.core import serializers

    with django_db_blocker.unblock():
        rows = [row for label in MIGRATED_MODELS for row in apps.get_model(label).objects.all()]
        _migrated["rows"] = serializers.serialize("json", rows)


@pytest.fixture(autouse=True)
def fast_password_hashing(request):
    """tests.support.fast_passwords, for the tests that run in this process only: a daphne would
    re-hash such a password at its first login, which changes the user's sessions' hash."""
    from django.conf import settings
    from django.test.utils import override_settings

    if request.node.get_closest_marker("services"):
        yield
        return
    hasher = "tests.support.fast_passwords.OneIterationPBKDF2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=[hasher, *settings.PASSWORD_HASHERS]):
        yield


@pytest.fixture
def migrated_beat_rows(django_db_blocker):
    """The beat schedules exactly as `migrate` made them on the test database (none made here)."""
    from django.apps import apps
    from django.core import serializers
    from django_celery_beat.models import PeriodicTasks

    with django_db_blocker.unblock():
        for label in reversed(MIGRATED_MODELS):
            apps.get_model(label).objects.all().delete()
        for row in serializers.deserialize("json", _migrated["rows"]):
            row.save()
        PeriodicTasks.update_changed()


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory):
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def test_database_url(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return subprocess_database_url()


@pytest.fixture(scope="session")
def celery_worker(test_database_url, service_logs):
    """A real Celery worker process consuming both queues of the test session's broker."""
    from project.celery import app

    app.control.purge()  # a shared broker (RabbitMQ) may hold messages of an earlier run
    # Short retry back-off keeps the transient-error tests fast; the logic is the production one.
    # It never sweeps on its own: the race tests sweep themselves, at the moment they choose.
    proc = start_celery_worker(
        test_database_url, service_logs / "worker.log",
        env={"JOBS_RETRY_BACKOFF_BASE": "0.4", "JOBS_RETRY_BACKOFF_MAX": "4", "JOBS_SWEEP_SECONDS": "0"},
    )  # fmt: skip
    yield proc
    stop_process(proc)


@pytest.fixture(scope="session")
def live_server_url(test_database_url, service_logs):
    """daphne serving the real ASGI application (HTTP and websockets) on a free port."""
    url, proc = start_daphne(test_database_url, service_logs / "daphne.log")
    yield url
    stop_process(proc)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3 server (SeaweedFS `weed mini`) with a bucket and keys, for this session.

    Opt-in: only a test that asks for it (or for the fixtures below) starts it. `seaweedfs.env` is
    MEDIA_STORAGE=s3 and the AWS_* variables, for this process's settings and for subprocesses.
    """
    server = start_seaweedfs(tmp_path_factory.mktemp("s3"), bucket="mediaflow-test")
    yield server
    server.stop()


@pytest.fixture
def s3_storage(seaweedfs, settings):
    """`default_storage` is, for this test, the S3 storage that settings.py builds from the same
    environment; the bucket is emptied afterwards, so each test starts from nothing."""
    from django.core.files.storage import default_storage

    from project.media_storage import media_storage

    settings.STORAGES = {**settings.STORAGES, "default": media_storage(seaweedfs.env)}
    yield default_storage
    client = seaweedfs.client()
    keys = seaweedfs.keys()
    for start in range(0, len(keys), 1000):
        objects = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=seaweedfs.bucket, Delete={"Objects": objects})


@pytest.fixture(scope="session")
def s3_celery_worker(seaweedfs, test_database_url, service_logs):
    """A real Celery worker process whose default_storage is the session's SeaweedFS bucket.

    It consumes nothing until a test takes it with `only_s3_worker`: the session's other tests
    keep their jobs on the local-disk worker.
    """
    from project.celery import app

    app.control.purge()
    proc = start_celery_worker(
        test_database_url, service_logs / "s3-worker.log", name=f"s3-{os.getpid()}@localhost",
        # botocore tries twice (the product's default is 5): an outage reaches the job engine's
        # retry with back-off within a second, which is what the outage tests look at. With the
        # short test back-off, 10 retries ride out ~15 s of outage (a restarted SeaweedFS serves
        # reads again a few seconds after it answers); the product's defaults ride out a minute.
        env={
            **seaweedfs.env, "AWS_MAX_ATTEMPTS": "2", "JOBS_MAX_RETRIES": "10",
            "JOBS_RETRY_BACKOFF_BASE": "0.4", "JOBS_RETRY_BACKOFF_MAX": "4", "JOBS_SWEEP_SECONDS": "0",
        },
    )  # fmt: skip
    _set_consuming([proc.worker_name], False)
    yield proc
    stop_process(proc)


def _set_consuming(workers, consuming):
    from project.celery import app

    if not workers:
        return
    control = app.control.add_consumer if consuming else app.control.cancel_consumer
    for queue in ("interactive", "bulk"):
        control(queue, destination=workers, reply=True, timeout=5)


@pytest.fixture
def only_s3_worker(s3_celery_worker):
    """For one test, the S3 worker alone consumes the queues (the local-disk ones pause)."""
    from project.celery import app

    name = s3_celery_worker.worker_name
    others = [worker for reply in app.control.ping(timeout=1) or [] for worker in reply if worker != name]
    _set_consuming(others, False)
    _set_consuming([name], True)
    yield s3_celery_worker
    _set_consuming([name], False)
    _set_consuming(others, True)


@pytest.fixture(scope="session")
def s3_live_server_url(seaweedfs, test_database_url, service_logs):
    """daphne serving the application with its media in the session's SeaweedFS bucket."""
    url, proc = start_daphne(test_database_url, service_logs / "s3-daphne.log", env=seaweedfs.env)
    yield url
    stop_process(proc)


@pytest.fixture
def make_user(django_user_model):
    counter = {"n": 0}

    def make(username=None, password="pw-secret-123", **extra):
        counter["n"] += 1
        username = username or f"user{counter['n']}"
        return django_user_model.objects.create_user(username=username, password=password, **extra)

    return make


@pytest.fixture
def session_cookie():
    """Log a user in and return the value of their session cookie (for websockets/browsers)."""
    from django.conf import settings
    from django.test import Client

    def login(user):
        client = Client()
        client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return login


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parts[-2] == "browser":
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server_url):
    context = browser.new_context(base_url=live_server_url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def test_kinds(django_db_blocker):
    """The test-only job kinds (tests.support.recording_kinds), registered in this process
    (workers load them with --include)."""
    from tests.support import recording_kinds

    with django_db_blocker.unblock():
        recording_kinds.create_effects_table()
    return recording_kinds


@pytest.fixture
def bulk_to_ourselves(celery_worker):
    """The session worker stops taking bulk work while a crash test owns the bulk queue."""
    from project.celery import app

    name = celery_worker.worker_name
    app.control.cancel_consumer("bulk", destination=[name], reply=True, timeout=5)
    yield
    app.control.add_consumer("bulk", destination=[name], reply=True, timeout=5)
