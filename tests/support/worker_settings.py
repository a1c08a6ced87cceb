"""Settings of the tests' worker processes: the project's, plus the jobs engine's heartbeat, claim
lease and sweep interval from the environment when a test sets them (their defaults live in
jobs/conf.py; the project's settings do not read them)."""

import os

from project.settings import *  # noqa: F403

for _name in ("JOBS_HEARTBEAT_SECONDS", "JOBS_CLAIM_LEASE_SECONDS", "JOBS_SWEEP_SECONDS"):
    if _name in os.environ:
        globals()[_name] = float(os.environ[_name])
