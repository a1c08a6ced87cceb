"""The role commands a host runs (scripts/role.sh) and the Redis they insist on."""

import json
import socket
import sqlite3
import subprocess
import sys
import urllib.request

import pytest

from devtools.processes import ROOT, child_env, free_port, start_redis_server, stop_process, wait_until
from tests.support.roles import run_role, start_role


@pytest.fixture
def private_redis(tmp_path):
    url, proc = start_redis_server(tmp_path / "redis")
    yield url
    stop_process(proc)


def unreachable_redis_url():
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def test_ensure_redis_refuses_a_redis_url_that_does_not_answer():
    url = unreachable_redis_url()
    env = {**child_env("sqlite://:memory:"), "REDIS_URL": url}
    proc = subprocess.run(
        [sys.executable, "scripts/ensure_redis.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert f"REDIS_URL={url} does not answer" in proc.stderr
    assert "export" not in proc.stdout and "started redis-server" not in proc.stderr  # no private Redis


@pytest.mark.parametrize("role", ["web", "worker", "beat"])
def test_a_role_refuses_to_start_without_its_shared_redis(role):
    refused = run_role(role, "sqlite://:memory:", REDIS_URL=unreachable_redis_url())
    assert refused.returncode != 0 and "does not answer" in refused.stderr
    env_without = child_env("sqlite://:memory:")
    env_without.pop("REDIS_URL")
    unset = subprocess.run(
        ["bash", "scripts/role.sh", role],
        cwd=ROOT,
        env=env_without,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unset.returncode != 0 and "REDIS_URL is not set" in unset.stderr


def test_make_run_stops_when_redis_url_does_not_answer(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {**child_env(f"sqlite:///{database}"), "REDIS_URL": unreachable_redis_url()}
    proc = subprocess.run(
        ["bash", "scripts/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "does not answer" in proc.stderr
    assert not database.exists()  # it stopped before migrating, let alone serving


def test_migrate_is_a_one_off_step_safe_to_repeat(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    first = run_role("migrate", url)
    assert first.returncode == 0, first.stderr
    again = run_role("migrate", url)
    assert again.returncode == 0 and "No migrations to apply" in again.stdout
    with sqlite3.connect(tmp_path / "fresh.sqlite3") as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"jobs_job", "media_library_blob", "django_celery_beat_periodictask"} <= names


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_host_get_distinct_names(test_database_url, private_redis, tmp_path):
    from celery import Celery
    from django.conf import settings

    # An app of its own on the private broker. Celery publishes control messages through the
    # app's producer pool whatever connection is passed, and CELERY_BROKER_URL in the environment
    # beats broker=; the read/write URLs beat both. Not the current app: shared tasks of later
    # tests must keep the session's.
    app = Celery("roles-probe", set_as_current=False)
    app.conf.broker_read_url = app.conf.broker_write_url = private_redis
    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    env = {"REDIS_URL": private_redis, "CELERY_BROKER_URL": private_redis,
           "WORKER_QUEUES": "interactive", "WORKER_CONCURRENCY": "1"}  # fmt: skip
    workers = [start_role("worker", test_database_url, tmp_path / f"w{n}.log", **env) for n in range(2)]
    expected = {f"interactive-{proc.pid}@{socket.gethostname()}" for proc in workers}
    try:

        def both_answer():
            names = {name for reply in app.control.ping(timeout=1) or [] for name in reply}
            return names if names >= expected else None

        assert wait_until(both_answer, 90, "two role workers", workers[0], tmp_path / "w0.log") == expected
    finally:
        app.close()
        for proc in workers:
            stop_process(proc)


@pytest.mark.django_db(transaction=True)
def test_web_role_serves_on_host_and_port(test_database_url, private_redis, tmp_path):
    port = free_port()
    env = {"REDIS_URL": private_redis, "CELERY_BROKER_URL": private_redis, "HOST": "127.0.0.1", "PORT": port}
    web = start_role("web", test_database_url, tmp_path / "web.log", **env)

    def healthz():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            return None

    try:
        report = wait_until(healthz, 90, "web role", web, tmp_path / "web.log")
        assert report["database"] == "ok" and report["redis"] == "ok"
    finally:
        stop_process(web)
