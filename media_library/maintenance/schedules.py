"""The maintenance schedules Mediaflow ships with, as django-celery-beat rows.

Created by a data migration (with the historical models) and editable in the admin afterwards;
creating them again (re-running migrations, tests) finds them by name and never duplicates them or
undoes an operator's edits.
"""

import json

from django.conf import settings

from media_library.maintenance.retention import PURGE_SCHEDULE_NAME, PURGE_TASK

SCHEDULES = [
    {
        "name": PURGE_SCHEDULE_NAME,
        "task": PURGE_TASK,
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


def ensure_maintenance_schedules(PeriodicTask, CrontabSchedule, PeriodicTasks=None):
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
    if PeriodicTasks is not None:
        # Rows created through a queryset or the historical models send no change signal: tell
        # a running beat (DatabaseScheduler) to re-read its schedule.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": _now()})


def _now():
    from django.utils import timezone

    return timezone.now()
