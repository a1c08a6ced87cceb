"""`jobs` lifted into another project: each module imports, a job runs, its card and pages render
and its websocket follows it, with only Django's contrib apps installed and none of the JOBS_*
settings set (defaults from jobs/conf.py)."""

import os
import subprocess
import sys

import pytest

from devtools.processes import ROOT

MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in (ROOT / "jobs").rglob("*.py")
    if "migrations" not in path.parts and path.name != "__init__.py"
)
NOTHING_ELSE = "assert not {m.split('.')[0] for m in sys.modules} & {'project', 'media_library'}"


def run_standalone(code):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JOBS_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.support.jobs_only_settings",
        PYTHONPATH=str(ROOT),
        CELERY_BROKER_URL="memory://",  # Celery's default app, with an in-process broker
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_the_module_list_is_complete():
    assert {"jobs.lifecycle", "jobs.runner", "jobs.consumers", "jobs.templatetags.jobs_panel"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_in_a_project_with_only_contrib_apps(module):
    code = f"import sys, django; django.setup(); import {module}; {NOTHING_ELSE}"
    proc = run_standalone(code)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_job_runs_with_no_jobs_settings():
    code = """
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from jobs import runner, submit
from jobs.models import Job
from jobs.registry import ChunkOutcome, JobKind, register
register(JobKind(name="double", label="Double", handler=lambda ctx: ChunkOutcome(done=len(ctx.ids))))
user = get_user_model().objects.create_user("someone")
job = submit("double", user, range(1, 101))
print(runner.run_chunk(job.pk, 0, 1))
job.refresh_from_db()
print(job.status, job.done, job.total)
"""
    proc = run_standalone(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split("\n")[:2] == ["finished", "succeeded 100 100"], proc.stdout + proc.stderr[-2000:]


def test_the_app_serves_its_pages_and_websocket_in_a_project_of_its_own(redis_url):
    """tests/support/jobs_only_app.py as its own pytest session: the jobs-only settings, no
    conftest, none of this session's plugins; the channel layer is this session's Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JOBS_", "CELERY_"))}
    env.update(PYTHONPATH=str(ROOT), CELERY_BROKER_URL="memory://")
    command = [
        sys.executable, "-m", "pytest", "tests/support/jobs_only_app.py", "-q", "-p", "no:cacheprovider",
        "-o", "addopts=", "--noconftest", "--ds=tests.support.jobs_only_settings",
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout, proc.stdout[-3000:]
