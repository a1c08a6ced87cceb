"""Tiny diagnostic tasks used by health checks and the service tests."""

from celery import shared_task


@shared_task(name="project.tasks.echo")
def echo(value):
    return value


@shared_task(name="project.tasks.where_am_i", bind=True)
def where_am_i(self):
    """Report which queue delivered this task and which worker ran it."""
    info = self.request.delivery_info or {}
    return {"routing_key": info.get("routing_key"), "worker": self.request.hostname}
