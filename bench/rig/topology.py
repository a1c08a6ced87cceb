"""The rig's hosts: names, addresses, and what runs where.

    infra   PostgreSQL, Redis, SeaweedFS (weed mini: the S3 endpoint)
    web     daphne (scripts/role.sh web), beat, a worker for the interactive queue
    bulk1…3 one worker for the bulk queue each, capped to a fixed CPU share
    client  no product process: the user's machine (uploads through the API, reads results)

Every name the rig creates starts with PREFIX, so a later run finds and removes the leftovers of
a crashed one (namespaces, links, cgroups, the work directory), and nothing else.
"""

from dataclasses import dataclass
from pathlib import Path

PREFIX = "mfrig"
BRIDGE = f"{PREFIX}-br"
SUBNET = "10.231.77"  # a /24 that exists only inside the rig's namespaces
WORK_DIR = Path("/var/tmp/mediaflow-rig")  # data that must outlive a process (PostgreSQL, S3 volumes)
ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "bench" / "out" / "rig"
VENV_BIN = ROOT / ".venv" / "bin"

ADDRESSES = {"infra": 2, "web": 10, "client": 20, "bulk1": 31, "bulk2": 32, "bulk3": 33}
MAX_BULK_HOSTS = 3

# Ports on the infra host (each host has its own network stack, so the usual ones are free).
POSTGRES_PORT = 5432
REDIS_PORT = 6379
WEB_PORT = 8000
S3_PORTS = {
    "master": 9333, "master.grpc": 19333, "volume": 9340, "volume.grpc": 19340, "filer": 8888,
    "filer.grpc": 18888, "s3": 8333, "s3.grpc": 18333, "admin": 23646, "admin.grpc": 33646, "metrics": 9324,
}  # fmt: skip


@dataclass(frozen=True)
class HostPlan:
    name: str

    @property
    def address(self):
        return f"{SUBNET}.{ADDRESSES[self.name]}"

    @property
    def netns(self):
        return f"{PREFIX}-{self.name}"

    @property
    def veth(self):
        return f"mfr-{self.name}"  # the root namespace's end; at most 15 characters

    @property
    def is_bulk(self):
        return self.name.startswith("bulk")


def plan(bulk_hosts):
    if not 1 <= bulk_hosts <= MAX_BULK_HOSTS:
        raise ValueError(f"1 to {MAX_BULK_HOSTS} bulk hosts, not {bulk_hosts}")
    names = ["infra", "web", "client", *(f"bulk{n}" for n in range(1, bulk_hosts + 1))]
    return [HostPlan(name) for name in names]


def infra_address():
    return HostPlan("infra").address


def web_url():
    return f"http://{HostPlan('web').address}:{WEB_PORT}"
