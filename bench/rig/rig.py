"""Bring the whole rig up (infra, web, 1-3 bulk hosts) and always tear it down again.

    with Rig(bulk_hosts=2, run_dir=...) as rig:
        rig.probe("client", "wait-http", ...)

Teardown runs on a normal exit, an exception, Ctrl-C and SIGTERM, and first thing on the next
start (leftovers of a run that was killed): it stops the services, kills whatever is still inside
the rig's namespaces (processes the rig started, found by namespace, ended by pid), deletes the
namespaces, veths and bridge, the cgroups, and the work directory. Doing it twice is harmless.
"""

import json
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.rig import cgroups, infra, netns
from bench.rig.topology import ROOT, VENV_BIN, WEB_PORT, WORK_DIR, plan, web_url

ROLE = str(ROOT / "scripts" / "role.sh")
PYTHON = str(VENV_BIN / "python")
RIG_USER = "rig"


class Rig:
    def __init__(
        self, bulk_hosts, run_dir, *, cpu_per_bulk_host=0.5, bulk_concurrency=1, env=None, log=print
    ):
        self.bulk_hosts = bulk_hosts
        self.run_dir = Path(run_dir)
        self.cpu_per_bulk_host = cpu_per_bulk_host
        self.bulk_concurrency = bulk_concurrency
        self.extra_env = {k: str(v) for k, v in (env or {}).items()}
        self.log = log
        self.hosts = {}
        self.cpu = None
        self.token = None
        self.creds = infra.Secrets.new()
        self.secret_key = secrets.token_urlsafe(40)
        self.database_url = self.redis_url = self.s3_endpoint = None

    # ------------------------------------------------------------------------------ lifecycle

    def __enter__(self):
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        self._previous_handlers = previous
        # Ctrl-C too, even when started in the background with SIGINT ignored: all end in down().
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _raise_system_exit)
        teardown(self.log)  # whatever an earlier, killed run left behind
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc_info):
        self.down()
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        return False

    def up(self):
        started = time.monotonic()
        log_dir = self.run_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        WORK_DIR.chmod(0o755)
        netns.create_bridge()
        for host_plan in plan(self.bulk_hosts):
            self.hosts[host_plan.name] = netns.create_host(host_plan, log_dir)
        self.cpu = self.cpu or cgroups.detect()
        for host in self.bulk():
            host.cpu_group = self.cpu.group(host.name, self.cpu_per_bulk_host)
        self.log(f"[rig] {len(self.hosts)} hosts on the bridge; CPU: {self.cpu.note}")

        infra_host = self.hosts["infra"]
        self.database_url = infra.start_postgres(infra_host, self.creds)
        self.redis_url = infra.start_redis(infra_host)
        self.s3_endpoint = infra.start_seaweedfs(infra_host, self.creds)
        self.probe("client", "wait-tcp", infra_host.address, "6379")
        self.probe("client", "wait-s3", env=self.product_env())
        self.log(f"[rig] infra up: PostgreSQL, Redis, SeaweedFS on {infra_host.address}")

        web = self.hosts["web"]
        web.run(["bash", ROLE, "migrate"], self.product_env(), timeout=600)  # once, before the others
        self.probe("web", "db-create-user", RIG_USER, env=self.product_env())
        self.token = web.run(
            [PYTHON, ROOT / "manage.py", "create_api_token", RIG_USER], self.product_env()
        ).stdout.strip()
        self.start_web_roles()
        for host in self.bulk():
            self.start_bulk_worker(host)
        self.wait_for_workers(1 + len(self.bulk()))
        self.log(f"[rig] web, beat, interactive worker and {len(self.bulk())} bulk host(s) up "
                 f"in {time.monotonic() - started:.0f} s")  # fmt: skip

    def down(self):
        """Stop everything; never raises (a teardown that fails half-way would leave more behind)."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut it short
        try:
            for host in self.hosts.values():
                for service in [s for s in host.procs if s not in ("redis", "seaweedfs")]:
                    host.stop(service)
            if "infra" in self.hosts:
                infra.stop_postgres(self.hosts["infra"])
                if infra.postgres_log().exists():
                    shutil.copy(infra.postgres_log(), self.run_dir / "logs" / "infra-postgres.log")
        except Exception as exc:
            self.log(f"[rig] graceful stop failed ({exc}); killing")
        finally:
            teardown(self.log)
            self.hosts = {}
            signal.signal(signal.SIGINT, previous)

    # ------------------------------------------------------------------------------ services

    def bulk(self):
        return [host for host in self.hosts.values() if host.plan.is_bulk]

    def product_env(self, **extra):
        """What every product process of every host gets: the shared services, nothing local."""
        web = self.hosts["web"].address if "web" in self.hosts else "127.0.0.1"
        env = {
            **infra.BASE_ENV,
            "PATH": f"{VENV_BIN}:{infra.BASE_ENV['PATH']}",
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "DATABASE_URL": self.database_url or "", "CONN_MAX_AGE": "60",
            # Short client keepalives: a cut-off host notices its dead database within ~25 s.
            "PG_KEEPALIVES_IDLE": "10", "PG_KEEPALIVES_INTERVAL": "5", "PG_KEEPALIVES_COUNT": "3",
            "PG_TCP_USER_TIMEOUT": "20000",
            "REDIS_URL": self.redis_url or "",
            "MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": infra.BUCKET,
            "AWS_S3_ENDPOINT_URL": self.s3_endpoint or "",
            "AWS_ACCESS_KEY_ID": self.creds.s3_access_key, "AWS_SECRET_ACCESS_KEY": self.creds.s3_secret_key,
            "AWS_S3_REGION_NAME": "us-east-1",
            # Anything a process would write locally lands in its host's private tmpfs.
            "MEDIAFLOW_VAR_DIR": "/tmp/mediaflow/var", "MEDIA_ROOT": "/tmp/mediaflow/media",
            "SECRET_KEY": self.secret_key, "DEBUG": "0", "ALLOWED_HOSTS": web,
            "HOST": web, "PORT": str(WEB_PORT), "LOG_LEVEL": "INFO",
        }  # fmt: skip
        return {**env, **self.extra_env, **{k: str(v) for k, v in extra.items()}}

    def start_web_roles(self):
        web = self.hosts["web"]
        web.popen("daphne", ["bash", ROLE, "web"], self.product_env())
        web.popen("beat", ["bash", ROLE, "beat"], self.product_env())
        web.popen("interactive", ["bash", ROLE, "worker"],
                  self.product_env(WORKER_QUEUES="interactive", WORKER_CONCURRENCY=2))  # fmt: skip
        self.probe("client", "wait-http", f"{web_url()}/healthz")

    def start_bulk_worker(self, host):
        env = self.product_env(WORKER_QUEUES="bulk", WORKER_CONCURRENCY=self.bulk_concurrency)
        return host.popen("bulk", ["bash", ROLE, "worker"], env, capped=True)

    def wait_for_workers(self, count, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            health = json.loads(self.probe("client", "wait-http", f"{web_url()}/healthz")["body"])
            if health.get("workers", 0) >= count:
                return health
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{health.get('workers')} of {count} workers answer; see {self.run_dir}/logs"
                )
            time.sleep(1)

    # ------------------------------------------------------------------------------ probes

    def probe(self, host_name, *args, env=None, timeout=1800):
        """Run `python -m bench.rig.probe ARGS` on a host; returns its JSON answer."""
        result = self.hosts[host_name].run(
            [PYTHON, "-m", "bench.rig.probe", *map(str, args)], env or self.product_env(), timeout=timeout
        )
        return json.loads(result.stdout.strip().splitlines()[-1])

    def shell(self, host_name, command, timeout=120):
        return self.hosts[host_name].run(["sh", "-c", command], self.product_env(), timeout=timeout).stdout


def _raise_system_exit(signum, _frame):
    raise SystemExit(128 + signum)


def teardown(log=print):
    """Remove every trace of a rig, running or crashed; idempotent."""
    leftovers = netns.existing_namespaces()
    for name in leftovers:
        netns.kill_namespace_processes(name)
    _kill_stray_postmaster()
    netns.remove_network()
    try:
        cgroups.remove_all()
    except OSError as exc:
        log(f"[rig] WARNING: a cgroup could not be removed: {exc}")
    if WORK_DIR.exists():
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    if leftovers:
        log(
            f"[rig] torn down: {len(leftovers)} namespace(s) with their processes, links, cgroups, {WORK_DIR}"
        )


def _kill_stray_postmaster():
    """A postmaster of ours outlives its namespace only if it was moved out; check its pidfile."""
    pidfile = WORK_DIR / "infra" / "pg" / "postmaster.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if any(str(WORK_DIR).encode() in part for part in cmdline):  # ours, not the machine's PostgreSQL
            subprocess.run(["kill", "-INT", str(pid)], check=False)
    except (OSError, ValueError, IndexError):
        pass
