"""Redis is SIGKILLed mid-job and started again on the same port: the processes of `make run` (the
Procfile's workers and beat, and daphne) ride it out, pages that need no Redis answer meanwhile,
those that need it answer 503 with Retry-After, and the job then finishes, every item once.

Everything is real: a redis-server with an append-only file as `make run` starts it, the
Procfile's own command lines, daphne. The outage lasts REDIS_OUTAGE_SECONDS (the smoke test of
the installed product uses 30 s; here shorter by default, to keep the suite quick).
"""

import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.conf import settings

from devtools.processes import (
    _app_for,
    start_daphne,
    start_procfile_process,
    start_python,
    start_redis_server,
    stop_process,
    wait_until,
)
from jobs.models import Job
from media_library.maintenance.retention import PURGE_SCHEDULE_NAME
from project.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE_SECONDS = float(os.environ.get("REDIS_OUTAGE_SECONDS", 8))
PROCFILE_ROLES = ("interactive", "bulk", "beat")
SUBMIT = """
import sys
from django.contrib.auth import get_user_model
from jobs.services import submit
owner = get_user_model().objects.get(pk=int(sys.argv[1]))
job = submit("test.record", owner, range(1, int(sys.argv[2]) + 1), params={"sleep": 0.4})
open(sys.argv[3], "w").write(str(job.pk))
"""


def get(url, cookie=None, data=None, headers=None):
    """(status, headers, body) of one request; errors are answers too."""
    request = urllib.request.Request(url, data=data, headers={**(headers or {})})
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def run_selected_task(web, cookie, task_pk):
    """The admin's "Run selected tasks" on one periodic task: it must reach the broker."""
    _status, _headers, page = get(f"{web}/admin/django_celery_beat/periodictask/", cookie)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = {"action": "run_tasks", "_selected_action": str(task_pk), "csrfmiddlewaretoken": token}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = urllib.parse.urlencode(form).encode()
    return get(f"{web}/admin/django_celery_beat/periodictask/", cookie, data=body, headers=headers)


def logged_in_cookie(web, user, session_cookie):
    """A session cookie plus a CSRF cookie that daphne handed out (for the admin's form)."""
    session = f"{settings.SESSION_COOKIE_NAME}={session_cookie(user)}"
    _status, headers, _page = get(f"{web}/admin/django_celery_beat/periodictask/", session)
    csrf = next(
        (c.split(";")[0] for c in headers.get_all("Set-Cookie") or [] if c.startswith("csrftoken=")), ""
    )
    return f"{session}; {csrf}"


def test_a_redis_restart_mid_job_is_ridden_out_and_the_job_finishes_once(
    test_kinds, migrated_beat_rows, make_user, session_cookie, test_database_url, service_logs, tmp_path
):
    from django_celery_beat.models import PeriodicTask

    redis_dir = tmp_path / "redis"
    redis_url, redis_proc = start_redis_server(redis_dir, persistent=True)
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    env = {"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url}
    procs = {}
    try:
        web, procs["web"] = start_daphne(test_database_url, service_logs / "outage-web.log", env=env)
        for role in PROCFILE_ROLES:
            procs[role] = start_procfile_process(
                role, test_database_url, service_logs / f"outage-{role}.log", env=env
            )
        control = _app_for(redis_url, like=celery_app).control

        def both_workers_answer():
            names = {name.split("@")[0] for reply in control.ping(timeout=0.5) or [] for name in reply}
            return {"interactive", "bulk"} <= names

        wait_until(both_workers_answer, 90, "the Procfile's workers")

        owner = make_user(is_staff=True, is_superuser=True)
        job_file = tmp_path / "job-id"
        total = 240  # 24 chunks of 10, 0.4 s each, on the bulk worker's two processes
        submitter = start_python(SUBMIT, test_database_url, service_logs / "outage-submit.log",
                                 owner.pk, total, job_file, env=env)  # fmt: skip
        assert submitter.wait(60) == 0
        job = Job.objects.get(pk=job_file.read_text())

        def done():
            job.refresh_from_db()
            return job.done

        wait_until(lambda: done() >= 20, 90, "the job under way")
        os.kill(redis_proc.pid, signal.SIGKILL)  # mid-job, as the OOM killer would
        redis_proc.wait(10)
        killed_at = time.monotonic()
        assert job.finished is None, "the job ended before Redis was killed: the test proves nothing"

        # Meanwhile: pages that need only the database answer; what needs Redis is a 503.
        cookie = logged_in_cookie(web, owner, session_cookie)
        status, _headers, page = get(f"{web}/jobs/{job.pk}/", cookie)
        assert status == 200 and str(job.pk)[:8].encode() in page
        assert get(f"{web}/library/", cookie)[0] == 200
        task = PeriodicTask.objects.get(name=PURGE_SCHEDULE_NAME)  # shipped by a migration
        status, headers, page = run_selected_task(web, cookie, task.pk)
        assert status == 503 and headers["Retry-After"] == "10", (status, page[:300])
        assert b"try again" in page
        status, headers, _body = get(f"{web}/healthz")
        assert status == 503 and headers["Retry-After"] == "10"

        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - killed_at)))
        exited = {name: proc.returncode for name, proc in procs.items() if proc.poll() is not None}
        assert not exited, f"exited during the outage: {exited}"
        done_before = done()

        _url, redis_proc = start_redis_server(redis_dir, port=port, persistent=True)
        back_at = time.monotonic()
        wait_until(lambda: done() > done_before or job.finished, 120, "progress after Redis came back")
        progressing = time.monotonic() - back_at
        wait_until(lambda: done() == total and job.finished, 180, "the job finished after Redis came back")
        finished = time.monotonic() - back_at
        logs = [service_logs / f"outage-{role}.log" for role in PROCFILE_ROLES]
        restarts = sum(log.read_text(errors="replace").count("[respawn]") for log in logs)
        print(f"\nRedis down {OUTAGE_SECONDS:.0f}s; back: progress {progressing:.1f}s, end {finished:.1f}s")
        print(f"restarts by scripts/respawn.py (a worker that died is started again): {restarts}")

        assert (job.status, job.done, job.failed) == ("succeeded", total, 0)
        assert test_kinds.effects(job.pk) == dict.fromkeys(range(1, total + 1), 1)  # each item once
        exited = {name: proc.returncode for name, proc in procs.items() if proc.poll() is not None}
        assert not exited, f"exited after the outage: {exited}"
        assert get(f"{web}/healthz")[0] == 200
    finally:
        for proc in (*procs.values(), redis_proc):
            stop_process(proc)


def test_progress_costs_a_chunk_a_second_at_most_when_redis_hangs(settings, tmp_path):
    """A stopped Redis accepts connections and never answers: the progress throttle that every
    chunk asks must give up quickly (the card is skipped), not hold the chunk up forever."""
    import threading
    import uuid

    from jobs import progress

    url, hung = start_redis_server(tmp_path / "hung")
    settings.JOBS_REDIS_URL = url
    os.kill(hung.pid, signal.SIGSTOP)
    outcome = {}
    try:
        started = time.monotonic()
        worker = threading.Thread(target=lambda: outcome.update(sent=progress.publish_job(uuid.uuid4())))
        worker.start()
        worker.join(30)
        assert not worker.is_alive(), "publishing progress hangs on a Redis that does not answer"
        assert outcome == {"sent": False} and time.monotonic() - started < 3, time.monotonic() - started
    finally:
        os.kill(hung.pid, signal.SIGCONT)
        stop_process(hung)
