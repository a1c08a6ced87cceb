"""The web server refuses bodies it must not store, before or while they arrive (raw HTTP over a
socket against the real web process, so nothing in between buffers the body for us)."""

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from devtools.processes import start_daphne, stop_process
from media_library.api.tokens import create_api_token
from tests.support import images
from tests.support.multipart import multipart_body

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 2 * 1024 * 1024  # MAX_REQUEST_BYTES of the server these tests start
HUGE = 10 * 1024**3


@pytest.fixture(scope="module")
def capped_server(test_database_url, service_logs):
    url, proc = start_daphne(
        test_database_url, service_logs / "daphne-capped.log", env={"MAX_REQUEST_BYTES": CAP}
    )
    yield urlsplit(url)
    stop_process(proc)


def connect(server):
    sock = socket.create_connection((server.hostname, server.port), timeout=10)
    return sock


def head(path, headers):
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *[f"{k}: {v}" for k, v in headers.items()]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock):
    """(status, JSON body) of the one response the server sends before it closes."""
    data = b""
    while True:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        data += part
    status_line, _, rest = data.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body)


def stream_until_refused(sock, limit):
    """Send a chunked body of zeros until the server stops reading; returns the bytes it took."""
    chunk = b"0" * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    try:
        while sent < limit:
            sock.sendall(frame)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


@pytest.fixture
def token(make_user):
    _token, key = create_api_token(make_user("alice"))
    return key


def test_an_anonymous_upload_announcing_10_gb_is_refused_before_its_body(capped_server):
    with connect(capped_server) as sock:
        headers = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": HUGE}
        sock.sendall(head("/api/files/", headers))  # no body sent at all
        status, body = read_response(sock)
    assert status == 401 and "Log in" in body["error"]


def test_an_anonymous_streamed_body_is_cut_off_as_it_arrives(capped_server):
    with connect(capped_server) as sock:
        sock.sendall(head("/api/files/", {"Transfer-Encoding": "chunked", "Content-Type": "text/plain"}))
        sent = stream_until_refused(sock, 200 * 1024 * 1024)
        status, _body = read_response(sock)
    assert status == 401
    # The server stopped after 64 KB; only what the sockets' buffers took was written at all.
    assert sent < 50 * 1024 * 1024


def test_expect_100_continue_gets_the_refusal_and_no_invitation(capped_server):
    with connect(capped_server) as sock:
        headers = {"Content-Length": HUGE, "Expect": "100-continue", "Content-Type": "text/plain"}
        sock.sendall(head("/api/files/", headers))
        status, _body = read_response(sock)
    assert status == 401  # read_response parses the first status line: no "100 Continue" came first


def test_a_token_holder_is_cut_off_at_max_request_bytes(capped_server, token):
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    with connect(capped_server) as sock:
        sock.sendall(head("/api/files/", {**auth, "Content-Length": CAP + 1}))
        status, body = read_response(sock)
    assert status == 413 and "2 MB" in body["error"]

    with connect(capped_server) as sock:
        sock.sendall(head("/api/files/", {**auth, "Transfer-Encoding": "chunked"}))
        started = time.monotonic()
        sent = stream_until_refused(sock, 500 * 1024 * 1024)
        status, _body = read_response(sock)
    assert status == 413 and sent < 100 * 1024 * 1024 and time.monotonic() - started < 60


def test_an_upload_with_a_token_under_the_cap_is_stored(capped_server, token):
    body, content_type = multipart_body([("files", "ok.png", images.png_bytes(seed=3))])
    with connect(capped_server) as sock:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Content-Length": len(body),
        }
        sock.sendall(head("/api/files/", {**headers, "Connection": "close"}) + body)
        status, answer = read_response(sock)
    assert status == 201 and [f["name"] for f in answer["files"]] == ["ok.png"]
