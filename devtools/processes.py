"""Start and stop the real services the tests use: redis-server, Celery workers, daphne.

Readiness is awaited by asking the service (PING, worker ping, HTTP GET), with a deadline.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, what, proc=None, log_path=None):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{tail(log_path)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout}s\n{tail(log_path)}")
        time.sleep(0.05)


def tail(path, lines=60):
    if not path or not Path(path).exists():
        return ""
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def stop_process(proc, timeout=15):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def start_redis_server(data_dir, port=None, persistent=False):
    """`persistent`: an append-only file in data_dir, as `make run`'s Redis has (scripts/ensure_redis.py),
    so a server started again on the same data dir after a SIGKILL still holds the queued messages."""
    import redis

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise RuntimeError("redis-server is required for the tests (make test installs it)")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = data_dir / "redis.log"
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
         "--save", "", "--appendonly", "yes" if persistent else "no", "--logfile", str(log_path)],
        start_new_session=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"

    def pings():
        try:
            return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        except redis.exceptions.ConnectionError:
            return False

    wait_until(pings, 20, "redis-server", proc, log_path)
    return url, proc


def child_env(database_url, **extra):
    """The environment of a service process: the test session's, pointed at the test database."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.pop("MEDIAFLOW_TEST_DB_NAME", None)
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("JOBS_EXTRA_KIND_MODULES", "tests.support.recording_kinds")  # test-only kinds
    env.update({k: str(v) for k, v in extra.items()})
    return env


# Test-only kinds and tasks every test worker loads.
WORKER_TEST_MODULES = "tests.support.recording_kinds,tests.support.notify"


def start_celery_worker(
    database_url, log_path, *, queues="interactive,bulk", concurrency=2, name=None, env=None, broker_url=None
):
    """A worker process; with `broker_url` it uses that broker instead of the test session's."""
    from project.celery import app

    name = name or f"test-{os.getpid()}-{free_port()}@localhost"
    env = dict(env or {})
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "worker", "-Q", queues, "-n", name,
         "--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--include", WORKER_TEST_MODULES],
        cwd=ROOT, env=child_env(database_url, **env), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip

    control = app.control if not broker_url else _app_for(broker_url, app).control

    def answers_ping():
        replies = control.ping(destination=[name], timeout=0.5) or []
        return any(name in reply for reply in replies)

    wait_until(answers_ping, 60, f"celery worker {name}", proc, log_path)
    proc.worker_name = name
    return proc


def _app_for(broker_url, like):
    """A Celery app speaking to another broker (control commands publish through an app's own
    connection pool, whatever connection they are given)."""
    from celery import Celery

    probe = Celery("tests-probe", set_as_current=False)
    # The read/write URLs, as CELERY_BROKER_URL in this process's environment beats broker_url.
    probe.conf.broker_read_url = probe.conf.broker_write_url = broker_url
    probe.conf.broker_transport_options = like.conf.broker_transport_options
    return probe


def start_procfile_process(name, database_url, log_path, env=None):
    """The Procfile's `name` line (the command `make run` runs under honcho), in a shell of its own."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:"))
    env = child_env(database_url, **(env or {}))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # celery, python
    log = open(log_path, "ab")  # noqa: SIM115
    return subprocess.Popen(
        ["/bin/sh", "-c", line.split(":", 1)[1].strip()], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def start_daphne(database_url, log_path, env=None):
    """The product's web process (daphne with its request-body limits) on a free port."""
    import urllib.request

    port = free_port()
    log = open(log_path, "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "project.web_server", "-b", "127.0.0.1", "-p", str(port),
         "project.asgi:application"],
        cwd=ROOT, env=child_env(database_url, **(env or {})), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def serves():
        try:
            with urllib.request.urlopen(f"{url}/login/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_until(serves, 60, "daphne", proc, log_path)
    return url, proc


def children_of(pid):
    """Process ids whose parent is `pid` (a worker's pool processes)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def start_python(code, database_url, log_path, *args, env=None):
    """A Python process running `code` with Django set up for the test database (e.g. a sweeper)."""
    log = open(log_path, "ab")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-c", "import django; django.setup()\n" + code, *map(str, args)],
        cwd=ROOT, env=child_env(database_url, **(env or {}), DJANGO_SETTINGS_MODULE="project.settings"),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
