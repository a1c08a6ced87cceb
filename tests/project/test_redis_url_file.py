"""Commands typed in a second terminal while `make run` is up reach the Redis it started.

`make run` (scripts/ensure_redis.py) starts a private redis-server on a free port and writes its
URL to var/redis.url; a `manage.py` command or `celery -A project inspect` started without
REDIS_URL must use that Redis, not redis://127.0.0.1:6379/0 (where a purge sent from the README's
commands once landed in an unrelated Redis and never ran).
"""

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys

import pytest
import redis

from devtools.processes import ROOT, child_env, start_celery_worker, stop_process, wait_until

pytestmark = pytest.mark.django_db


def second_terminal_env(database_url, var_dir):
    """A shell of the same install that never saw `make run`'s exports."""
    env = child_env(database_url, MEDIAFLOW_VAR_DIR=var_dir)
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "MEDIAFLOW_REDIS_PID", "MEDIAFLOW_REDIS_URL_FILE"):
        env.pop(name, None)
    return env


@pytest.fixture
def make_run_redis(tmp_path, test_database_url):
    """What `make run` does first: scripts/ensure_redis.py with REDIS_URL unset."""
    var_dir = tmp_path / "var"
    result = subprocess.run(
        [sys.executable, "scripts/ensure_redis.py"], cwd=ROOT, capture_output=True, text=True,
        env=second_terminal_env(test_database_url, var_dir), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    exports = {name: shlex.split(value)[0] for name, value in exports.items()}
    try:
        yield var_dir, exports["REDIS_URL"], exports["MEDIAFLOW_REDIS_PID"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(exports["MEDIAFLOW_REDIS_PID"]), signal.SIGTERM)


def test_manage_py_and_celery_inspect_beside_make_run_use_its_redis(
    make_run_redis, test_database_url, service_logs
):
    var_dir, url, _pid = make_run_redis
    assert (var_dir / "redis.url").read_text().strip() == url
    assert url != "redis://127.0.0.1:6379/0"
    env = second_terminal_env(test_database_url, var_dir)

    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "import json, redis; from django.conf import settings as s; "
         "redis.Redis.from_url(s.REDIS_URL).set('second-terminal', 'was here'); "
         "print(json.dumps([s.REDIS_URL, s.CELERY_BROKER_URL, "
         "s.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]['address']]))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    assert json.loads(shell.stdout.strip().splitlines()[-1]) == [url, url, url]
    assert redis.Redis.from_url(url).get("second-terminal") == b"was here"

    # make run's worker (it has REDIS_URL exported) answers `celery inspect ping` from the other terminal.
    worker = start_celery_worker(
        test_database_url, service_logs / "make-run-worker.log", broker_url=url, env={"REDIS_URL": url}
    )
    try:
        ping = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "project", "inspect", "ping",
             "-d", worker.worker_name, "--timeout", "10"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        stop_process(worker)
    assert ping.returncode == 0 and "pong" in ping.stdout, ping.stdout + ping.stderr


def test_run_sh_removes_the_url_file_when_it_stops(make_run_redis):
    var_dir, url, pid = make_run_redis
    assert (var_dir / "redis.url").exists()
    script = (ROOT / "scripts" / "run.sh").read_text()
    stop_redis = script[script.index("stop_redis() {") : script.index("trap stop_redis EXIT")]
    exports = {"MEDIAFLOW_REDIS_URL_FILE": str(var_dir / "redis.url"), "MEDIAFLOW_REDIS_PID": pid}
    subprocess.run(
        ["bash", "-c", f"{stop_redis}\nstop_redis"], check=True, timeout=30, env={**os.environ, **exports}
    )
    assert not (var_dir / "redis.url").exists()

    def gone():
        try:
            return not redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        except redis.exceptions.ConnectionError:
            return True

    wait_until(gone, 20, "make run's redis-server stopping")
