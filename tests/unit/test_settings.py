import os
import stat
import subprocess
import sys

from django.conf import settings
from django.db import connection

from tests.support.processes import ROOT


def fresh_settings(var_dir, **env):
    """Start Python with the settings of a fresh install (no DEBUG, no SECRET_KEY in the environment)
    and return what it says about them."""
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "WHITENOISE_USE_FINDERS"}}
    code = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "MEDIAFLOW_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def settle(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    debug, key = out.split()
    return debug, key


def test_a_fresh_install_runs_without_debug_and_generates_a_private_secret_key_once(tmp_path):
    debug, key = settle(fresh_settings(tmp_path))
    assert debug == "False"
    stored = tmp_path / "secret_key"
    assert stored.read_text().strip() == key and len(key) >= 50
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert settle(fresh_settings(tmp_path)) == ("False", key)  # reused, not regenerated
    assert settle(fresh_settings(tmp_path, DEBUG="1"))[0] == "True"  # development mode is explicit
    assert settle(fresh_settings(tmp_path, SECRET_KEY="from-the-environment"))[1] == "from-the-environment"


def test_processes_starting_together_on_a_fresh_install_agree_on_one_key(tmp_path):
    # make run starts web, workers and beat at once: they must not each write their own key.
    procs = [fresh_settings(tmp_path) for _ in range(8)]
    keys = {settle(proc)[1] for proc in procs}
    assert keys == {(tmp_path / "secret_key").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_celery_is_configured_for_durable_bulk_work():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.JOB_CHUNK_TIME_LIMIT
    assert {q.name for q in settings.CELERY_TASK_QUEUES} == {"interactive", "bulk"}


def test_sqlite_runs_in_wal_mode(db):
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0].lower() == "wal"
