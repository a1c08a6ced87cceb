"""Ship the "Expire ZIP downloads" beat schedule, so a fresh install removes expired archives.

Like 0005: only what is missing (found by name) is created, so a row an operator edited, disabled
or made by hand is kept as it is and never duplicated; the specification is written out here (not
imported) so this migration stays what it was. Name and task must match
media_library.archives.expiry.
"""

import json

from django.conf import settings
from django.db import migrations
from django.utils import timezone

SCHEDULE = {
    "name": "Expire ZIP downloads",
    "task": "media_library.tasks.expire_archives",
    "crontab": {"minute": "*/5", "hour": "*"},
    "description": (
        "Remove ZIP downloads older than ARCHIVE_RETENTION_HOURS, resend stalled assemblies and "
        "delete leftover archive files."
    ),
}


def create_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=SCHEDULE["name"]).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
        **SCHEDULE["crontab"],
    )
    PeriodicTask.objects.create(
        name=SCHEDULE["name"],
        task=SCHEDULE["task"],
        crontab=crontab,
        enabled=True,
        kwargs=json.dumps({}),
        description=SCHEDULE["description"],
    )
    # Historical models send no change signal: tell a running beat to re-read its schedule.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("media_library", "0006_archives"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    # Reversing leaves the row: it may carry an operator's edits, and beat runs fine without it.
    operations = [migrations.RunPython(create_schedule, migrations.RunPython.noop)]
