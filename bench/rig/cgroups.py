"""A fixed CPU share per bulk host, with whatever CPU controller this machine offers.

cgroup v2 (`cpu.max` = "quota period") when a cgroup2 hierarchy lists `cpu` among its controllers;
else cgroup v1's cpu controller (`cpu.cfs_quota_us` / `cpu.cfs_period_us`: the same CFS bandwidth
limit under its older names); else no cap, with a warning (the ratios then measure a shared box).
A process joins its group before it execs the service (see `wrap`), so every pool process the
worker forks later is capped too.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench.rig.topology import PREFIX

PERIOD_US = 100_000


def _cgroup2_mounts():
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            yield Path(fields[1])


def _cgroup1_cpu_mount():
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "cgroup" and "cpu" in fields[3].split(","):
            return Path(fields[1])
    return None


@dataclass
class CpuController:
    kind: str  # "v2", "v1" or "none"
    base: Path | None  # our parent group, e.g. /sys/fs/cgroup/cpu/mfrig
    note: str

    def group(self, name, cpus):
        """Create (or reuse) the group `name` capped at `cpus` CPUs; None when there is no controller."""
        if self.base is None:
            return None
        path = self.base / name
        path.mkdir(exist_ok=True)
        quota = max(1000, int(cpus * PERIOD_US))
        if self.kind == "v2":
            (path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
        return path

    def throttled(self, group):
        """(periods, throttled periods) from cpu.stat: proof the cap bites."""
        if group is None:
            return None
        stat = dict(line.split()[:2] for line in (group / "cpu.stat").read_text().splitlines() if " " in line)
        return int(stat.get("nr_periods", 0)), int(stat.get("nr_throttled", 0))


def detect():
    """The best CPU controller here, with our parent group created under it."""
    for mount in _cgroup2_mounts():
        controllers = (
            (mount / "cgroup.controllers").read_text().split()
            if (mount / "cgroup.controllers").exists()
            else []
        )
        if "cpu" in controllers:
            base = mount / PREFIX
            base.mkdir(exist_ok=True)
            (mount / "cgroup.subtree_control").write_text("+cpu")
            (base / "cgroup.subtree_control").write_text("+cpu")
            return CpuController("v2", base, f"cgroup v2 cpu.max under {base}")
    v2_note = "cgroup v2 has no cpu controller here"
    mount = _cgroup1_cpu_mount()
    if mount is not None and (mount / "cpu.cfs_quota_us").exists():
        base = mount / PREFIX
        base.mkdir(exist_ok=True)
        note = (
            f"{v2_note} (cpu is bound to cgroup v1): using v1 cpu.cfs_quota_us under {base}, the same CFS cap"
        )
        return CpuController("v1", base, note)
    return CpuController(
        "none", None, "WARNING: no cgroup CPU controller is available: bulk hosts run uncapped"
    )


def wrap(group, argv):
    """argv run inside `group`: the shell joins it, then execs (so the pid stays the service's)."""
    if group is None:
        return argv
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *argv]


def remove_all():
    """Remove our groups (after their processes are gone); idempotent."""
    bases = [mount / PREFIX for mount in _cgroup2_mounts()]
    v1 = _cgroup1_cpu_mount()
    if v1 is not None:
        bases.append(v1 / PREFIX)
    for base in bases:
        if not base.exists():
            continue
        for child in sorted(base.iterdir(), reverse=True):
            if child.is_dir():
                _rmdir_when_empty(child)
        _rmdir_when_empty(base)


def _rmdir_when_empty(path, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # the kernel frees a group a moment after its last process exits
