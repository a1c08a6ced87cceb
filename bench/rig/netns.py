"""Hosts made of Linux namespaces on one machine, joined by a bridge.

Each host is a network namespace (`ip netns`) with one veth on the bridge and an address that
exists only inside the namespaces (the bridge itself has none, so the machine's own network
cannot reach the rig, nor the rig the machine's services). A "holder" process per host owns a UTS
namespace (its own hostname: what Celery's %h and socket.gethostname() see) and a mount
namespace with a private tmpfs on /tmp. Every process of the host is started with nsenter into
the holder's three namespaces, so they all share the host's hostname, network and /tmp, and no
host sees another's /tmp. The code (this repository and its .venv) is the only directory
every host reads.
"""

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.rig import cgroups
from bench.rig.topology import BRIDGE, PREFIX, ROOT, SUBNET, HostPlan

TMPFS_SIZE = "2g"


def sh(*argv, check=True):
    return subprocess.run([str(a) for a in argv], check=check, capture_output=True, text=True)


@dataclass
class Host:
    plan: HostPlan
    log_dir: Path
    holder: subprocess.Popen | None = None
    cpu_group: Path | None = None
    procs: dict = field(default_factory=dict)  # service name -> Popen

    @property
    def name(self):
        return self.plan.name

    @property
    def address(self):
        return self.plan.address

    def enter(self):
        return ["nsenter", f"--target={self.holder.pid}", "--net", "--uts", "--mount", f"--wd={ROOT}", "--"]

    def popen(self, service, argv, env, *, capped=False):
        """Start a long-running service on this host; its output goes to <log_dir>/<host>-<service>.log."""
        log = open(self.log_dir / f"{self.name}-{service}.log", "ab")  # noqa: SIM115 - the child's
        command = self.enter() + [str(a) for a in argv]
        if capped:
            command = cgroups.wrap(self.cpu_group, command)
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.procs[service] = proc
        return proc

    def run(self, argv, env, *, timeout=600, check=True):
        """Run a command on this host to completion; returns the CompletedProcess."""
        result = subprocess.run(
            self.enter() + [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{self.name}: {' '.join(map(str, argv))} exited {result.returncode}\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def stop(self, service, timeout=20):
        proc = self.procs.pop(service, None)
        if proc is not None:
            stop_group(proc, timeout)

    def cut_link(self):
        sh("ip", "link", "set", self.plan.veth, "down")

    def restore_link(self):
        sh("ip", "link", "set", self.plan.veth, "up")

    def pids(self):
        """Every process in this host's network namespace (ours by construction)."""
        return netns_pids(self.plan.netns)


def stop_group(proc, timeout=20):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def netns_pids(netns):
    result = sh("ip", "netns", "pids", netns, check=False)
    return [int(pid) for pid in result.stdout.split()] if result.returncode == 0 else []


def create_bridge():
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "link", "set", BRIDGE, "up")


def create_host(plan, log_dir):
    """The namespace, its veth on the bridge, its address, and the holder of its hostname and /tmp."""
    sh("ip", "netns", "add", plan.netns)
    sh("ip", "link", "add", plan.veth, "type", "veth", "peer", "name", "eth0", "netns", plan.netns)
    sh("ip", "link", "set", plan.veth, "master", BRIDGE)
    sh("ip", "link", "set", plan.veth, "up")
    inside = ["ip", "netns", "exec", plan.netns]
    sh(*inside, "ip", "link", "set", "lo", "up")
    sh(*inside, "ip", "addr", "add", f"{plan.address}/24", "dev", "eth0")
    sh(*inside, "ip", "link", "set", "eth0", "up")
    # ip netns exec and unshare exec in turn, so the Popen's pid is the holder's (sleep's).
    setup = 'hostname "$0" && mount -t tmpfs -o size="$1",mode=1777 tmpfs /tmp && exec sleep infinity'
    holder = subprocess.Popen(
        [*inside, "unshare", "--uts", "--mount", "--propagation", "private", "--",
         "sh", "-c", setup, plan.name, TMPFS_SIZE],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    host = Host(plan=plan, log_dir=log_dir, holder=holder)
    _wait_for_hostname(host)
    return host


def _wait_for_hostname(host, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.holder.poll() is not None:
            raise RuntimeError(f"{host.name}: namespace holder exited: {host.holder.stderr.read().decode()}")
        probe = subprocess.run([*host.enter(), "hostname"], capture_output=True, text=True)
        mounted = subprocess.run(
            [*host.enter(), "findmnt", "-n", "-o", "FSTYPE", "/tmp"], capture_output=True, text=True
        )
        if probe.stdout.strip() == host.name and mounted.stdout.strip() == "tmpfs":
            return
        time.sleep(0.05)
    raise RuntimeError(f"{host.name}: hostname/tmpfs not set up after {timeout}s")


def existing_namespaces():
    result = sh("ip", "netns", "list", check=False)
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    return [name for name in names if name.startswith(f"{PREFIX}-")]


def kill_namespace_processes(netns, timeout=20):
    """SIGTERM every process in `netns` (they are the rig's), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in netns_pids(netns):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while netns_pids(netns) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not netns_pids(netns):
            return


def remove_network():
    """Delete the rig's namespaces (their veths go with them) and its bridge; idempotent."""
    for netns in existing_namespaces():
        sh("ip", "netns", "del", netns, check=False)
    for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name == BRIDGE or name.startswith("mfr-"):
            sh("ip", "link", "del", name, check=False)


def subnet_route_conflicts():
    """True when the machine already routes the rig's subnet (then the rig would shadow it)."""
    return f"{SUBNET}." in sh("ip", "route", "show", check=False).stdout
