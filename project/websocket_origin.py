"""Websockets are accepted only from this site's own pages: the Origin must be the full origin
(scheme, host and port) the socket was opened at, or one listed in CSRF_TRUSTED_ORIGINS.

Channels' AllowedHostsOriginValidator compares host names only, so a page served by another app
on the same host (`http://127.0.0.1:9999`) or the same name over another scheme could open a
user's job socket with their cookie and read their job cards. This is the rule Django's CSRF
check applies to an HTTP request's Origin header, applied to the websocket handshake.
"""

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.utils.http import is_same_domain

HTTP_SCHEMES = {"ws": "http", "wss": "https"}


def handshake_request(scope):
    """The handshake as a Django request: its host is checked against ALLOWED_HOSTS and its
    scheme honours SECURE_PROXY_SSL_HEADER, as for any page."""
    scheme = HTTP_SCHEMES.get(scope.get("scheme"), scope.get("scheme") or "http")
    return ASGIRequest({**scope, "type": "http", "method": "GET", "scheme": scheme}, None)


def origin_allowed(scope):
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin or origin == "null":
        return False
    request = handshake_request(scope)
    try:
        own_origin = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        return False
    if origin == own_origin or origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    # CSRF_TRUSTED_ORIGINS may name subdomains with a wildcard: "https://*.example.com".
    scheme, _sep, host = origin.partition("://")
    return any(
        is_same_domain(host, trusted.partition("://")[2].lstrip("*"))
        for trusted in settings.CSRF_TRUSTED_ORIGINS
        if "*" in trusted and trusted.partition("://")[0] == scheme
    )


class SameOriginValidator:
    """ASGI middleware refusing (403) a websocket handshake from any other origin."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
