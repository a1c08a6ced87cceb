"""A task the service tests send to a worker: it pushes an HTML fragment to a user's pages through
the channel layer, the way the jobs engine pushes its cards (workers load it with `--include`)."""

from celery import shared_task

from jobs.progress import group_send, user_group


@shared_task(name="tests.support.notify.notify_user")
def notify_user(user_id, html):
    group_send(user_group(user_id), {"type": "job.update", "html": html})
    return "sent"
