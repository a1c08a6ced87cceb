"""Keeping django-celery-results bounded: expired rows deleted in small batches."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_celery_results.models import TaskResult


def prune_expired_results(batch_size=None, max_batches=None):
    """Delete results older than CELERY_RESULT_EXPIRES, batch by batch (short write locks)."""
    batch_size = batch_size or settings.JOBS_RESULT_PRUNE_BATCH
    max_batches = max_batches or 1000
    cutoff = timezone.now() - timedelta(seconds=settings.CELERY_RESULT_EXPIRES)
    deleted = 0
    for _ in range(max_batches):
        pks = list(TaskResult.objects.filter(date_done__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not pks:
            break
        deleted += TaskResult.objects.filter(pk__in=pks).delete()[0]
    return deleted
