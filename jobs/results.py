"""Keeping django-celery-results bounded: expired rows deleted in small batches."""

import logging
from datetime import timedelta

from celery import current_app
from django.apps import apps
from django.utils import timezone

from jobs.conf import settings

logger = logging.getLogger(__name__)


def _expiry():
    expires = current_app.conf.result_expires
    return expires if isinstance(expires, timedelta) else timedelta(seconds=expires or 0)


def prune_expired_results(batch_size=None, max_batches=None):
    """Delete results older than the result expiry (CELERY_RESULT_EXPIRES), batch by batch (short
    write locks). A project without django_celery_results has nothing to prune."""
    if not apps.is_installed("django_celery_results"):
        return 0
    task_result = apps.get_model("django_celery_results", "TaskResult")
    batch_size = batch_size or settings.JOBS_RESULT_PRUNE_BATCH
    cutoff = timezone.now() - _expiry()
    deleted = 0
    for _ in range(max_batches or 1000):
        pks = list(task_result.objects.filter(date_done__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not pks:
            break
        deleted += task_result.objects.filter(pk__in=pks).delete()[0]
    return deleted
