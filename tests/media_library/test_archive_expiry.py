"""ZIP downloads expire: the beat schedule ships in a migration and is edited in the admin, the
expiry task (run by a real worker, by the schedule's task name) removes the bytes, the dashboard
shows the space archives use."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from jobs.progress import render_card
from media_library import storage
from media_library.actions import submit_action
from media_library.archives import expiry
from media_library.folders import create_folder
from media_library.models import Archive
from tests.support.admin_forms import admin_change_form_data
from tests.support.archives import image_file, wait_for_archive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def schedule(migrated_beat_rows):
    task = PeriodicTask.objects.filter(name=expiry.EXPIRE_SCHEDULE_NAME).first()
    assert task is not None, "the migrations must create the archive expiry schedule"
    return task


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_migrations_ship_the_expiry_schedule(schedule):
    assert schedule.task == expiry.EXPIRE_TASK and schedule.enabled
    assert (schedule.crontab.minute, schedule.crontab.hour) == ("*/5", "*")


def test_operators_edit_the_schedule_in_the_admin(schedule, admin_client):
    url = f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/"
    response = admin_client.post(url, admin_change_form_data(admin_client.get(url), enabled=False))
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert not schedule.enabled


def test_expiry_removes_the_zip_and_its_bytes(celery_worker, schedule, make_user):
    from project.celery import app

    owner = make_user()
    folder = create_folder(owner.pk, None, "Old")
    for n in range(5):
        image_file(owner, folder, f"o{n}.jpg", 900 + n)
    job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    archive = wait_for_archive(job)
    assert archive.expires_at - archive.ready_at == timedelta(hours=24)  # ARCHIVE_RETENTION_HOURS
    client = logged_in(owner)
    dashboard = client.get("/").content.decode()
    assert f'id="own-archives">1 ready, using {archive.size / 1024:.1f}\xa0KB<' in dashboard
    stray = f"{storage.archive_directory(uuid.uuid4())}/part-000000-dead"
    default_storage.save(stray, ContentFile(b"left by a job that was deleted"))

    result = app.send_task(schedule.task).get(timeout=30)  # the task the schedule names
    # Earlier tests' archive files (their rows are gone with the test database's flush) go too.
    assert result["expired"] == 0 and result["resent"] == 0 and result["leftovers"] >= 1
    assert not default_storage.exists(stray)
    assert all(default_storage.exists(name) for name, _size in archive.stored_objects)  # not due yet

    Archive.objects.filter(pk=archive.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert app.send_task(schedule.task).get(timeout=30)["expired"] == 1
    archive.refresh_from_db()
    assert archive.status == "expired" and not default_storage.exists(f"{archive.job_id}")
    assert not default_storage.listdir(storage.ARCHIVE_DIRECTORY)[0]  # no archive directory is left
    assert client.get(f"/archives/{job.pk}/download/").status_code == 410
    job.refresh_from_db()
    assert "This ZIP has expired." in render_card(job)
    assert client.get(f"/api/jobs/{job.pk}/").json()["download_url"] is None
    assert 'id="own-archives">0 ready, using 0\xa0bytes<' in client.get("/").content.decode()
