"""Make sure a Redis is reachable and print shell `export` lines for it.

With REDIS_URL set, that Redis must answer: if it does not, this is an error (a process that
quietly used a Redis of its own would be cut off from every other host). With REDIS_URL unset,
`make run` gets a private redis-server on a free port with its data under var/redis/ (installing
Debian's redis-server with apt-get when missing and root); it evals the output and stops that
server when it exits.

Either way the URL is also written to var/redis.url (project/redis_location.py): a command run in
another terminal while `make run` is up (manage.py, `celery -A project inspect`) has no REDIS_URL
of its own and reads it there. run.sh removes the file when it stops.

`--check` (the role commands, scripts/role.sh): REDIS_URL must be set and answer; nothing is
started and nothing printed.
"""

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from project.redis_location import write_redis_url  # noqa: E402

VAR_DIR = Path(os.environ.get("MEDIAFLOW_VAR_DIR", ROOT / "var"))  # as project/settings.py


def log(message):
    print(f"[redis] {message}", file=sys.stderr)


def answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary():
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("redis-server is not installed; install it (apt-get install redis-server) or set REDIS_URL.")
    log("redis-server is missing: installing Debian's redis-server with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, env=env)
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def start_private_redis(data_dir, persistent=True, port=None):
    """`port`: start it again where it was (same data, same URL) after it died."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    pidfile = data_dir / "redis.pid"
    command = [
        redis_server_binary(),
        "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
        "--daemonize", "yes", "--pidfile", str(pidfile), "--logfile", str(data_dir / "redis.log"),
        "--appendonly", "yes" if persistent else "no", "--save", "",
    ]  # fmt: skip
    subprocess.run(command, check=True)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while not answers(url):
        if time.monotonic() > deadline:
            sys.exit(f"redis-server did not answer on port {port}; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    pid = int(pidfile.read_text().strip()) if pidfile.exists() else 0
    return url, pid


def require_answering(url):
    if not answers(url):
        sys.exit(
            f"[redis] REDIS_URL={url} does not answer. Start that Redis (or fix the URL); "
            "Mediaflow never falls back to a Redis of its own when REDIS_URL is set."
        )


def main():
    url = os.environ.get("REDIS_URL")
    if "--check" in sys.argv[1:]:
        if not url:
            sys.exit("[redis] REDIS_URL is not set: each role must use the Redis all hosts share.")
        require_answering(url)
        return
    if url:
        require_answering(url)
        log(f"using REDIS_URL={url}")
    else:
        url, pid = start_private_redis(VAR_DIR / "redis")
        log(f"started redis-server pid {pid} at {url}")
        print(f"export MEDIAFLOW_REDIS_PID={pid}")
    print(f"export REDIS_URL={shlex.quote(url)}")
    print(f"export MEDIAFLOW_REDIS_URL_FILE={shlex.quote(str(write_redis_url(VAR_DIR, url)))}")


if __name__ == "__main__":
    main()
