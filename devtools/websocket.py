"""A real websocket client for the live ASGI server, authenticated by a session cookie."""

from django.conf import settings
from websockets.sync.client import connect


def ws_url(live_server_url, path="/ws/jobs/"):
    return live_server_url.replace("http://", "ws://", 1) + path


def open_socket(live_server_url, cookie=None, origin=None, path="/ws/jobs/"):
    headers = {}
    if cookie:
        headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
    return connect(
        ws_url(live_server_url, path),
        origin=origin or live_server_url,
        additional_headers=headers,
        open_timeout=10,
    )
