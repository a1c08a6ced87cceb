"""Ship the maintenance schedules as django-celery-beat rows, so a fresh install purges trash.

Operators edit these rows in the admin afterwards. The migration only creates what is missing (found
by name): a row an operator edited, disabled or created by hand is kept as it is, never duplicated.
The specification is written out here (not imported) so this migration stays what it was when later
code changes. Names and task paths must match media_library.maintenance.retention and media_library.tasks.
"""

import json

from django.conf import settings
from django.db import migrations
from django.utils import timezone

SCHEDULES = [
    {
        "name": "Purge expired trash",
        "task": "media_library.tasks.purge_expired_trash",
        "crontab": {"minute": "0", "hour": "3"},
        "description": "Permanently delete files trashed longer than TRASH_RETENTION_DAYS.",
    },
    {
        "name": "Sweep orphan files",
        "task": "media_library.tasks.sweep_orphans",
        "crontab": {"minute": "30", "hour": "4"},
        "description": "Remove stored bytes no file references; report files whose bytes are missing.",
    },
]


def create_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    created = False
    for spec in SCHEDULES:
        if PeriodicTask.objects.filter(name=spec["name"]).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=settings.TIME_ZONE,
            **spec["crontab"],
        )
        PeriodicTask.objects.create(
            name=spec["name"],
            task=spec["task"],
            crontab=crontab,
            enabled=True,
            kwargs=json.dumps({}),
            description=spec["description"],
        )
        created = True
    if created:
        # Historical models send no change signal: tell a running beat to re-read its schedule.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("media_library", "0004_partial_indexes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    # Reversing leaves the rows: they may carry an operator's edits, and beat runs fine without them.
    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
