"""The infra host's services: PostgreSQL, Redis and SeaweedFS, listening on its bridge address only.

PostgreSQL is a private cluster made with Debian's own initdb/pg_ctl (/usr/lib/postgresql/<v>/bin),
run as the postgres user, data under WORK_DIR/infra/pg, its unix socket in the infra host's
private /tmp; clients authenticate with a password (scram-sha-256) from the rig's subnet only.
"""

import glob
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.rig.topology import POSTGRES_PORT, REDIS_PORT, S3_PORTS, SUBNET, WORK_DIR
from devtools.seaweedfs import weed_mini_command, write_s3_config

DB_NAME = DB_USER = "mediaflow"
BUCKET = "mediaflow"
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": "/tmp"}
# A host whose link is cut leaves its sessions open on the server: without these, one that was
# inside a transaction keeps its row locks (a chunk's, the job row) until TCP gives up, hours later.
# Idle in a transaction: ended after 30 s. Idle outside one: probed after 10 s, dropped after 3
# unanswered probes 5 s apart. Unacknowledged data (a reply to a dead client): dropped after 20 s.
# A running query notices a vanished client within 10 s (PostgreSQL >= 14).
SERVER_SETTINGS = {
    "idle_in_transaction_session_timeout": "30s",
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "20000",
    "client_connection_check_interval": "10s",
}


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries are missing: apt-get install postgresql")
    return Path(found[-1]).parent


@dataclass
class Secrets:
    db_password: str
    s3_access_key: str
    s3_secret_key: str

    @classmethod
    def new(cls):
        return cls(secrets.token_urlsafe(18), f"rig{secrets.token_hex(6)}", secrets.token_urlsafe(24))


def start_postgres(host, creds):
    pg_bin = postgres_bin()
    data = WORK_DIR / "infra" / "pg"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.mkdir(mode=0o700)
    shutil.chown(data, "postgres", "postgres")
    pwfile = WORK_DIR / "infra" / "pg-password"
    pwfile.write_text(creds.db_password + "\n")
    shutil.chown(pwfile, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    host.run(
        [*as_postgres, pg_bin / "initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile,
         "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
        BASE_ENV,
    )  # fmt: skip
    pwfile.unlink()
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {SUBNET}.0/24 scram-sha-256\n")
    settings = {"listen_addresses": host.address, "port": POSTGRES_PORT, "unix_socket_directories": "/tmp"}
    options = " ".join(f"-c {name}={value}" for name, value in {**settings, **SERVER_SETTINGS}.items())
    host.run([*as_postgres, pg_bin / "pg_ctl", "-D", data, "-l", data / "server.log", "-w", "-t", "60",
              "-o", options, "start"], BASE_ENV)  # fmt: skip
    psql = [
        *as_postgres,
        pg_bin / "psql",
        "-h",
        "/tmp",
        "-p",
        str(POSTGRES_PORT),
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
    ]
    host.run([*psql, f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{creds.db_password}'"], BASE_ENV)
    host.run([*psql, f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}"], BASE_ENV)
    return f"postgres://{DB_USER}:{creds.db_password}@{host.address}:{POSTGRES_PORT}/{DB_NAME}"


def stop_postgres(host):
    data = WORK_DIR / "infra" / "pg"
    if (data / "postmaster.pid").exists():
        host.run(["runuser", "-u", "postgres", "--", postgres_bin() / "pg_ctl", "-D", data, "-m", "fast",
                  "-w", "stop"], BASE_ENV, check=False)  # fmt: skip


def start_redis(host):
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    host.popen("redis", [binary, "--bind", host.address, "--port", REDIS_PORT, "--protected-mode", "no",
                         "--save", "", "--appendonly", "no", "--dir", "/tmp"], BASE_ENV)  # fmt: skip
    return f"redis://{host.address}:{REDIS_PORT}/0"


def start_seaweedfs(host, creds):
    """`weed mini` on the infra host; its volumes on disk so it can be stopped and started again."""
    root = WORK_DIR / "infra" / "s3"
    (root / "data").mkdir(parents=True, exist_ok=True)
    config = root / "identities.json"
    write_s3_config(config, creds.s3_access_key, creds.s3_secret_key)
    command = weed_mini_command(root / "data", config, ip=host.address, ports=S3_PORTS, bucket=BUCKET)
    host.popen("seaweedfs", command, BASE_ENV)
    return f"http://{host.address}:{S3_PORTS['s3']}"


def stop_seaweedfs(host):
    host.stop("seaweedfs")


def pg_is_ready(host):
    result = host.run([postgres_bin() / "pg_isready", "-h", host.address, "-p", str(POSTGRES_PORT)],
                      BASE_ENV, check=False)  # fmt: skip
    return result.returncode == 0


def postgres_log():
    return WORK_DIR / "infra" / "pg" / "server.log"
