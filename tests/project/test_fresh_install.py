"""What a fresh install provides by itself: the maintenance schedules come from the migrations.

Each test migrates an empty database in a subprocess (`manage.py migrate`, as `make run` does) and
reads the result back, so nothing here is made by a fixture.
"""

import pytest

from media_library.maintenance import retention
from tests.support.fresh_install import fresh_database_url, manage, shell_json

pytestmark = pytest.mark.django_db

READ_SCHEDULES = """
import json
from django_celery_beat.models import PeriodicTask
rows = PeriodicTask.objects.select_related("crontab").order_by("name")
print(json.dumps([
    {"name": t.name, "task": t.task, "enabled": t.enabled,
     "crontab": t.crontab and [t.crontab.minute, t.crontab.hour, str(t.crontab.timezone)]}
    for t in rows
]))
"""


def test_migrate_on_an_empty_database_ships_enabled_purge_and_orphan_sweep(tmp_path):
    with fresh_database_url(tmp_path) as url:
        manage(url, "migrate", "--noinput")
        schedules = {row["name"]: row for row in shell_json(url, READ_SCHEDULES)}
    purge = schedules[retention.PURGE_SCHEDULE_NAME]
    assert purge == {
        "name": retention.PURGE_SCHEDULE_NAME,
        "task": retention.PURGE_TASK,
        "enabled": True,
        "crontab": ["0", "3", "UTC"],
    }
    sweep = schedules["Sweep orphan files"]
    assert sweep["task"] == "media_library.tasks.sweep_orphans" and sweep["enabled"]
    assert sweep["crontab"][:2] == ["30", "4"]


def test_the_migration_keeps_a_schedule_an_operator_already_edited(tmp_path):
    edit = f"""
import json
from django_celery_beat.models import CrontabSchedule, PeriodicTask
crontab = CrontabSchedule.objects.create(minute="45", hour="5")
PeriodicTask.objects.create(name={retention.PURGE_SCHEDULE_NAME!r}, task={retention.PURGE_TASK!r},
                            crontab=crontab, enabled=False)
print(json.dumps("ok"))
"""
    with fresh_database_url(tmp_path) as url:
        manage(url, "migrate", "--noinput", "media_library", "0004")
        manage(url, "migrate", "--noinput", "django_celery_beat")
        shell_json(url, edit)
        manage(url, "migrate", "--noinput")
        manage(url, "migrate", "--noinput")  # running it again changes nothing either
        rows = shell_json(url, READ_SCHEDULES)
    purges = [row for row in rows if row["name"] == retention.PURGE_SCHEDULE_NAME]
    assert len(purges) == 1
    assert purges[0]["enabled"] is False and purges[0]["crontab"][:2] == ["45", "5"]
    assert [row["name"] for row in rows].count("Sweep orphan files") == 1


def test_the_zip_expiry_schedule_ships_enabled_and_an_operators_edit_is_kept(tmp_path):
    from media_library.archives import expiry

    for name in ("fresh", "edited"):
        (tmp_path / name).mkdir()
    with fresh_database_url(tmp_path / "fresh") as url:
        manage(url, "migrate", "--noinput")
        fresh = {row["name"]: row for row in shell_json(url, READ_SCHEDULES)}
    assert fresh[expiry.EXPIRE_SCHEDULE_NAME] == {
        "name": expiry.EXPIRE_SCHEDULE_NAME,
        "task": expiry.EXPIRE_TASK,
        "enabled": True,
        "crontab": ["*/5", "*", "UTC"],
    }
    edit = f"""
import json
from django_celery_beat.models import CrontabSchedule, PeriodicTask
crontab = CrontabSchedule.objects.create(minute="7", hour="*/2")
PeriodicTask.objects.create(name={expiry.EXPIRE_SCHEDULE_NAME!r}, task={expiry.EXPIRE_TASK!r},
                            crontab=crontab, enabled=False)
print(json.dumps("ok"))
"""
    with fresh_database_url(tmp_path / "edited") as url:
        manage(url, "migrate", "--noinput", "media_library", "0006")
        manage(url, "migrate", "--noinput", "django_celery_beat")
        shell_json(url, edit)
        manage(url, "migrate", "--noinput")
        manage(url, "migrate", "--noinput")
        rows = [row for row in shell_json(url, READ_SCHEDULES) if row["name"] == expiry.EXPIRE_SCHEDULE_NAME]
    assert len(rows) == 1 and rows[0]["enabled"] is False and rows[0]["crontab"][:2] == ["7", "*/2"]
