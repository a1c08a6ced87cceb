"""The jobs socket opens only from this site's own origin: scheme, host and port all count
(real daphne, real websocket handshakes). The same rule on the HTTP side is Django's CSRF check."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from websockets.exceptions import InvalidStatus

from devtools.job_cards import cards
from devtools.websocket import open_socket
from project.websocket_origin import origin_allowed
from tests.support.chunks import handed_out

pytestmark = pytest.mark.django_db(transaction=True)


def other_origins(live_server_url):
    """Origins a browser would send from pages that are not this site's, though on its host."""
    server = urlsplit(live_server_url)
    return [
        "http://127.0.0.1:9999",  # another app on the same host
        f"https://{server.hostname}:{server.port}",  # same host and port, other scheme
        "https://localhost:1",
        f"http://localhost:{server.port}",  # a name in ALLOWED_HOSTS, but not the one opened
        f"http://{server.hostname}",  # port left out
        "null",  # a sandboxed frame or a file:// page
    ]


def test_a_socket_from_another_origin_on_the_same_host_is_refused(live_server_url, make_user, session_cookie):
    cookie = session_cookie(make_user())
    for origin in other_origins(live_server_url):
        with pytest.raises(InvalidStatus) as refused:
            open_socket(live_server_url, cookie, origin=origin)
        assert refused.value.response.status_code == 403, origin


def test_a_socket_from_the_sites_own_origin_gets_the_job_panel(
    live_server_url, make_user, session_cookie, test_kinds
):
    user = make_user()
    job = handed_out(user, range(1, 4))
    with open_socket(live_server_url, session_cookie(user), origin=live_server_url) as socket:
        assert str(job.pk) in dict(cards(socket.recv(timeout=10)))  # the snapshot of their jobs


def handshake(origin, host="media.example.com", scheme="ws", headers=()):
    raw = [(b"host", host.encode()), (b"origin", origin.encode()), *headers]
    return {"type": "websocket", "scheme": scheme, "path": "/ws/jobs/", "headers": raw, "query_string": b""}


def test_trusted_origins_and_the_https_proxy_header_are_honoured(settings):
    settings.ALLOWED_HOSTS = ["media.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.org"]
    assert origin_allowed(handshake("http://media.example.com"))
    assert not origin_allowed(handshake("https://media.example.com"))
    assert origin_allowed(handshake("https://media.example.com", scheme="wss"))
    assert origin_allowed(handshake("https://app.example.com"))
    assert origin_allowed(handshake("https://eu.example.org"))
    assert not origin_allowed(handshake("http://eu.example.org"))
    assert not origin_allowed(handshake("https://app.example.com:8443"))
    # A Host outside ALLOWED_HOSTS (DNS rebinding) is refused even when the Origin matches it.
    assert not origin_allowed(handshake("http://evil.example", host="evil.example"))

    # Behind a TLS-terminating proxy the socket arrives as ws://, the proxy's header says https.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forwarded = [(b"x-forwarded-proto", b"https")]
    assert origin_allowed(handshake("https://media.example.com", headers=forwarded))
    assert not origin_allowed(handshake("http://media.example.com", headers=forwarded))


def test_a_form_post_from_another_origin_on_the_same_host_is_refused(make_user):
    """Django's CSRF check already compares an HTTP request's full Origin (scheme and port)."""
    make_user("olga", password="a-long-password-1")
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    fields = {
        "username": "olga",
        "password": "a-long-password-1",
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    }
    assert client.post("/login/", fields, HTTP_ORIGIN="http://testserver:9999").status_code == 403
    assert client.post("/login/", fields, HTTP_ORIGIN="https://testserver").status_code == 403
    assert client.post("/login/", fields, HTTP_ORIGIN="http://testserver").status_code == 302
