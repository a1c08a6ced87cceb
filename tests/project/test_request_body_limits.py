"""The web server refuses bodies it must not store, before or while they arrive (raw HTTP over a
socket against the real web process, so nothing in between buffers the body for us)."""

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from devtools.processes import start_daphne, stop_process
from media_library.api.tokens import create_api_token
from media_library.models import MediaFile
from tests.support import images
from tests.support.multipart import multipart_body
from tests.support.page_rows import make_files

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


def read_status_line(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(1)
    return data.split()[1]


@pytest.fixture
def deleted_session(make_user, session_cookie):
    """The session key of a user who has since logged out: a cookie that was real once."""
    from django.contrib.sessions.models import Session

    key = session_cookie(make_user("gone"))
    Session.objects.filter(session_key=key).delete()
    return key


FAKE_CREDENTIALS = {
    "made-up session cookie": lambda key: {"Cookie": "sessionid=x"},
    "logged-out session": lambda key: {"Cookie": f"sessionid={key}"},
    "made-up token": lambda key: {"Authorization": "Bearer x"},
    "empty bearer": lambda key: {"Authorization": "Bearer "},
}


@pytest.mark.parametrize("fake", FAKE_CREDENTIALS.values(), ids=FAKE_CREDENTIALS.keys())
@pytest.mark.parametrize("path", ["/login/", "/api/files/"])
def test_made_up_credentials_get_no_more_body_than_anonymous_requests(
    capped_server, deleted_session, fake, path
):
    with connect(capped_server) as sock:  # a body announced: refused before any of it is sent
        sock.sendall(
            head(path, {**fake(deleted_session), "Content-Type": "text/plain", "Content-Length": HUGE})
        )
        status, body = read_response(sock)
    assert status == 401 and "Log in" in body["error"]

    with connect(capped_server) as sock:  # a streamed body: cut off at the anonymous limit
        sock.sendall(head(path, {**fake(deleted_session), "Transfer-Encoding": "chunked"}))
        sent = stream_until_refused(sock, 200 * 1024 * 1024)
        status, _body = read_response(sock)
    assert status == 401 and sent < 50 * 1024 * 1024


def test_a_logged_in_sessions_upload_past_the_anonymous_limit_is_stored(
    capped_server, make_user, session_cookie
):
    session = session_cookie(make_user("sam"))
    picture = images.large_png_bytes(target_size=600 * 1024, seed=5)  # well past the 64 KB
    body, content_type = multipart_body([("files", "big.png", picture)])
    csrf = "c" * 32
    headers = {
        "Cookie": f"sessionid={session}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Content-Type": content_type,
        "Content-Length": len(body),
        "Connection": "close",
    }
    with connect(capped_server) as sock:
        sock.sendall(head("/api/files/", headers) + body)
        status, answer = read_response(sock)
    assert status == 201 and [f["name"] for f in answer["files"]] == ["big.png"]


def test_a_valid_token_is_invited_to_send_its_body_once_checked(capped_server, token):
    body, content_type = multipart_body([("files", "late.png", images.large_png_bytes(300 * 1024, seed=6))])
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": content_type,
        "Content-Length": len(body),
        "Expect": "100-continue",
        "Connection": "close",
    }
    with connect(capped_server) as sock:
        sock.sendall(head("/api/files/", headers))
        assert read_status_line(sock) == b"100"
        sock.sendall(body)
        status, answer = read_response(sock)
    assert status == 201 and [f["name"] for f in answer["files"]] == ["late.png"]


def test_a_chunked_body_that_arrives_whole_before_the_token_is_checked_is_served(capped_server, make_user):
    user = make_user("cora")
    _token, key = create_api_token(user)
    make_files(user, 2)
    ids = list(MediaFile.objects.filter(owner=user).values_list("pk", flat=True))
    body = json.dumps({"action": "trash", "file_ids": ids}).encode()
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
        "Connection": "close",
    }
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with connect(capped_server) as sock:
        sock.sendall(head("/api/jobs/", headers) + chunked)  # one packet: all in before the lookup ends
        status, answer = read_response(sock)
    assert status == 202 and answer["file_count"] == 2, answer
