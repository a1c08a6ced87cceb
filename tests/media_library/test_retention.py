"""Trash retention on real services: the purge job, its single-run lock, the beat schedule."""

import hashlib
import io
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult
from PIL import Image

from devtools.processes import ROOT, child_env, stop_process, wait_until
from media_library.maintenance import retention, single_run
from media_library.models import Blob, MediaFile
from media_library.tasks import purge_expired_trash
from tests.support.admin_forms import admin_change_form_data

pytestmark = pytest.mark.django_db(transaction=True)


def stored_blob(seed):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, (seed * 7) % 256, 99)).save(buffer, "PNG")
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    blob = Blob.objects.create(sha256=sha, size=len(data), format="PNG", width=8, height=8)
    default_storage.save(blob.storage_name, ContentFile(data))
    return blob


def trashed_file(owner, blob, name, days_ago):
    return MediaFile.objects.create(
        owner=owner,
        name=name,
        blob=blob,
        size=blob.size,
        trashed_at=timezone.now() - timedelta(days=days_ago),
    )


def wait_for_job(job_id, timeout=60):
    from jobs.models import Job

    return wait_until(
        lambda: Job.objects.filter(pk=job_id, finished__isnull=False).first(), timeout, f"job {job_id}"
    )


@pytest.fixture
def schedules(migrated_beat_rows):
    """The purge schedule exactly as the migrations made it (see tests/conftest.py)."""
    schedule = retention.purge_schedule()
    assert schedule is not None, "the migrations must create the purge schedule"
    return schedule


@pytest.fixture(autouse=True)
def free_lock(redis_url):  # the single-run lock lives in Redis
    single_run.clear(retention.PURGE_LOCK)
    yield
    single_run.clear(retention.PURGE_LOCK)


def test_purge_deletes_only_expired_trash_and_unreferenced_blobs(celery_worker, make_user):
    alice, bob = make_user(), make_user()
    shared, alone, young_blob = stored_blob(1), stored_blob(2), stored_blob(3)
    expired_shared = trashed_file(alice, shared, "old-shared.png", days_ago=40)
    expired_alone = trashed_file(bob, alone, "old-alone.png", days_ago=31)
    young = trashed_file(alice, young_blob, "young.png", days_ago=5)
    live = MediaFile.objects.create(owner=bob, name="live.png", blob=shared, size=shared.size)

    outcome = purge_expired_trash.apply_async(kwargs={"triggered_by": "test"}).get(timeout=30)
    assert outcome["status"] == "started" and outcome["files"] == 2
    job = wait_for_job(outcome["job_id"])

    assert job.status == "succeeded"
    remaining = set(MediaFile.objects.values_list("id", flat=True))
    assert remaining == {young.id, live.id}
    assert expired_shared.id not in remaining and expired_alone.id not in remaining
    assert default_storage.exists(shared.storage_name)  # a live file still shows these bytes
    assert default_storage.exists(young_blob.storage_name)
    wait_until(lambda: not default_storage.exists(alone.storage_name), 10, "unreferenced bytes removed")
    assert not Blob.objects.filter(pk=alone.pk).exists()
    assert single_run.holder_ttl(retention.PURGE_LOCK) is None  # the job's end freed the lock


def test_staff_see_the_purge_job_on_the_jobs_pages_and_others_do_not(celery_worker, make_user, client):
    owner = make_user()
    trashed_file(owner, stored_blob(5), "old.png", days_ago=45)
    outcome = retention.start_purge(triggered_by="test")
    wait_for_job(outcome["job_id"])
    client.force_login(make_user(is_staff=True))
    assert client.get(f"/jobs/{outcome['job_id']}/").status_code == 200
    assert outcome["job_id"] in client.get("/jobs/").content.decode()
    client.force_login(owner)  # not staff: the maintenance job is not theirs
    assert client.get(f"/jobs/{outcome['job_id']}/").status_code == 404
    assert client.get(f"/api/jobs/{outcome['job_id']}/").status_code == 404


def test_two_purges_at_the_same_moment_run_once(celery_worker, make_user):
    owner = make_user()
    blob = stored_blob(4)
    for n in range(30):
        trashed_file(owner, blob, f"f{n}.png", days_ago=60)
    barrier = threading.Barrier(2)
    results = []

    def start():
        try:
            barrier.wait()
            results.append(retention.start_purge(triggered_by="race"))
        finally:
            connections.close_all()  # this thread's connection, or PostgreSQL can't drop the test DB

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r["status"] for r in results) == ["skipped", "started"]
    started = next(r for r in results if r["status"] == "started")
    wait_for_job(started["job_id"])
    assert not MediaFile.objects.exists()


def test_skipped_invocation_is_recorded(celery_worker):
    token = single_run.try_acquire(retention.PURGE_LOCK, 60)
    assert token
    result = purge_expired_trash.apply_async(kwargs={"triggered_by": "manual"})
    assert result.get(timeout=30)["status"] == "skipped"
    stored = TaskResult.objects.get(task_id=result.id)
    assert '"skipped"' in stored.result
    assert single_run.release(retention.PURGE_LOCK, token)


def test_only_the_holder_can_release_the_lock():
    token = single_run.try_acquire(retention.PURGE_LOCK, 60)
    assert single_run.try_acquire(retention.PURGE_LOCK, 60) is None
    assert single_run.release(retention.PURGE_LOCK, "not-the-token") is False
    assert single_run.holder_ttl(retention.PURGE_LOCK) > 0
    assert single_run.release(retention.PURGE_LOCK, token) is True


def test_clear_purge_lock_command(capsys):
    from django.core.management import call_command

    single_run.try_acquire(retention.PURGE_LOCK, 600)
    call_command("clear_purge_lock")
    assert "Cleared" in capsys.readouterr().out
    assert single_run.holder_ttl(retention.PURGE_LOCK) is None


def test_migrations_ship_the_purge_schedule(schedules):
    assert PeriodicTask.objects.filter(name=retention.PURGE_SCHEDULE_NAME).count() == 1
    assert schedules.task == retention.PURGE_TASK
    assert (schedules.crontab.hour, schedules.crontab.minute) == ("3", "0")
    assert schedules.enabled


def test_admin_crontab_edit_changes_what_the_scheduler_runs_next(schedules, admin_client):
    from django_celery_beat.schedulers import DatabaseScheduler

    from project.celery import app

    scheduler = DatabaseScheduler(app=app)  # what `celery beat` runs: reads the schedule now
    before = scheduler.schedule.get(retention.PURGE_SCHEDULE_NAME)
    scheduler.schedule_changed()  # beat's first tick: remember the current change stamp
    # The scheduler only loads crontabs due within about two hours of now; 03:00 may be outside.
    assert before is None or before.schedule.hour == {3}

    soon = (timezone.localtime().hour + 1) % 24  # inside the scheduler's window
    crontab = schedules.crontab
    url = f"/admin/django_celery_beat/crontabschedule/{crontab.pk}/change/"
    form = admin_change_form_data(admin_client.get(url), minute=15, hour=soon)
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.context and response.context["errors"]

    entry = scheduler.schedule[retention.PURGE_SCHEDULE_NAME]  # the same, still running scheduler
    assert entry.schedule.hour == {soon} and entry.schedule.minute == {15}
    next_run = timezone.localtime(retention.next_purge_run())
    assert (next_run.hour, next_run.minute) == (soon, 15)


def test_real_beat_runs_the_purge(celery_worker, test_database_url, service_logs, schedules, make_user):
    owner = make_user()
    blob = stored_blob(9)
    expired = trashed_file(owner, blob, "gone.png", days_ago=90)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    schedules.crontab = None
    schedules.interval = every_second
    schedules.save()

    log = open(service_logs / "beat.log", "ab")  # noqa: SIM115
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel", "INFO",
         "-s", str(service_logs / "beat-schedule")],
        cwd=ROOT, env=child_env(test_database_url), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(
            lambda: not MediaFile.objects.filter(pk=expired.pk).exists(), 60, "beat-driven purge", beat
        )
    finally:
        stop_process(beat)
    assert retention.last_purge() is not None
