"""Start the product's role commands (scripts/role.sh) as real processes, as a host would."""

import subprocess

from devtools.processes import ROOT, child_env

ROLE_SCRIPT = ROOT / "scripts" / "role.sh"


def start_role(role, database_url, log_path, **env):
    """`scripts/role.sh <role>` in its own process group; role.sh execs, so pid is the service's."""
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
    return subprocess.Popen(
        ["bash", str(ROLE_SCRIPT), role], cwd=ROOT, env=child_env(database_url, **env),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def run_role(role, database_url, timeout=120, **env):
    """Run a role that ends by itself (migrate), or one that refuses to start; returns the result."""
    return subprocess.run(
        ["bash", str(ROLE_SCRIPT), role], cwd=ROOT, env=child_env(database_url, **env),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
