"""The jobs engine's websocket routes: a project mounts `websocket_urlpatterns` in its ASGI
URLRouter (inside AuthMiddlewareStack), and the jobs panel connects to `socket_url()`."""

from django.urls import path

from jobs.consumers import JobsConsumer

SOCKET_PATH = "ws/jobs/"

websocket_urlpatterns = [
    path(SOCKET_PATH, JobsConsumer.as_asgi()),
]


def socket_url():
    """The URL the jobs panel's websocket opens (routes are mounted at the site's root)."""
    return "/" + SOCKET_PATH
