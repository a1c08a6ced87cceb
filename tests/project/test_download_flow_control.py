"""A slow client downloading a big ZIP: the web process holds a bounded amount of it, not the rest
of the archive (daphne alone wrote every block to Twisted's buffer as fast as storage gave it)."""

import hashlib
import random
import socket
import time
from urllib.parse import urlsplit

import psutil
import pytest
from django.conf import settings

from devtools.processes import start_daphne, stop_process
from media_library.actions import submit_action
from media_library.folders import create_folder
from media_library.models import MediaFile
from tests.support.archives import stored_archive_bytes, stored_blob, wait_for_archive

pytestmark = pytest.mark.django_db(transaction=True)


def read_response(sock, pace=None, seconds=None):
    """Bytes from `sock`: 64 KB every `pace` seconds for `seconds`, or everything at full speed."""
    data = bytearray()
    deadline = time.monotonic() + (seconds or 120)
    while time.monotonic() < deadline:
        block = sock.recv(65536)
        if not block:
            break
        data += block
        if pace:
            time.sleep(pace)
    return bytes(data)


def test_a_slow_download_keeps_the_web_process_small(
    celery_worker, test_database_url, service_logs, make_user, session_cookie
):
    owner = make_user()
    folder = create_folder(owner.pk, None, "Big")
    blob = stored_blob(random.Random(5).randbytes(40 * 1024 * 1024), fmt="PNG")  # the archive reads no pixels
    MediaFile.objects.bulk_create(
        MediaFile(owner=owner, folder=folder, name=f"big-{n}.png", blob=blob, size=blob.size)
        for n in range(4)
    )
    job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    archive = wait_for_archive(job)
    assert archive.size > 160 * 1024 * 1024
    url, server = start_daphne(test_database_url, service_logs / "daphne-download.log")
    try:
        process = psutil.Process(server.pid)
        before = process.memory_info().rss
        address = urlsplit(url)
        sock = socket.create_connection((address.hostname, address.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        cookie = f"{settings.SESSION_COOKIE_NAME}={session_cookie(owner)}"
        request = (
            f"GET /archives/{job.pk}/download/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        head = read_response(sock, pace=0.05, seconds=4)  # ~1.3 MB/s: a slow connection
        grown = process.memory_info().rss - before
        assert len(head) < 20 * 1024 * 1024
        assert grown < 40 * 1024 * 1024, f"the web process grew by {grown / 1e6:.0f} MB"
        rest = read_response(sock)  # then the client speeds up: everything arrives, exactly
        sock.close()
    finally:
        stop_process(server)
    headers, _, body = (head + rest).partition(b"\r\n\r\n")
    assert b"200 OK" in headers.split(b"\r\n")[0]
    assert f"content-length: {archive.size}".encode() in headers.lower()
    assert len(body) == archive.size
    assert hashlib.sha256(body).digest() == hashlib.sha256(stored_archive_bytes(archive)).digest()
