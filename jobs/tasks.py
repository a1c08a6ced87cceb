"""Celery tasks of the jobs engine: thin wrappers that take ids and call plain functions."""

from celery import shared_task

from jobs.progress import send_to_user


@shared_task(name="jobs.tasks.notify_user")
def notify_user(user_id, html):
    """Send an HTML fragment to a user's pages from a worker (used by the service tests)."""
    send_to_user(user_id, html)
    return "sent"
