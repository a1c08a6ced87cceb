"""The ZIP download view: owner only, Content-Length, a single HTTP Range (206 / 416 / ignored),
If-Range, expiry (410). The archive is built here in-process (the worker's code, without a worker)."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone

from media_library.actions import submit_action
from media_library.api.tokens import create_api_token
from media_library.folders import create_folder
from media_library.models import Archive
from tests.support.archives import build_in_process, image_file, read_zip_bytes, stored_archive_bytes

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def body_of(response):
    async def collect(parts):
        return b"".join([part async for part in parts])

    return async_to_sync(collect)(response.streaming_content)


@pytest.fixture
def ready(make_user, settings):
    settings.ARCHIVE_CHUNK_FILES = 5  # 3 parts and the tail: ranges cross from object to object
    owner = make_user()
    folder = create_folder(owner.pk, None, "Holiday")
    for n in range(12):
        image_file(owner, folder, f"img-{n:02d}.jpg", 500 + n)
    job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    archive = build_in_process(job)
    assert archive.status == "ready" and len(archive.stored_objects) == 4
    return owner, job, archive, stored_archive_bytes(archive)


def test_owner_gets_the_whole_zip_with_its_length_and_a_safe_name(ready):
    owner, job, archive, data = ready
    response = logged_in(owner).get(f"/archives/{job.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(data)) == str(archive.size)
    assert response["Accept-Ranges"] == "bytes" and response["Content-Type"] == "application/zip"
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"Holiday {day}.zip\"; filename*=UTF-8''Holiday%20{day}.zip"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body_of(response) == data
    assert len(read_zip_bytes(data).namelist()) == 12


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=10-10", 10, 10),
     ("bytes=5-999999999", 5, None)],
)  # fmt: skip
def test_a_single_range_is_206_with_its_content_range(ready, header, first, last):
    owner, job, _archive, data = ready
    response = logged_in(owner).get(f"/archives/{job.pk}/download/", headers={"Range": header})
    assert response.status_code == 206
    part = data[first : None if last is None else last + 1]
    start = first % len(data)
    assert response["Content-Range"] == f"bytes {start}-{start + len(part) - 1}/{len(data)}"
    assert response["Content-Length"] == str(len(part))
    assert body_of(response) == part


def test_a_range_across_the_archives_objects_is_exact(ready):
    owner, job, archive, data = ready
    boundary = archive.stored_objects[0][1] + archive.stored_objects[1][1]  # parts 1 and 2 meet here
    first, last = boundary - 10, boundary + 9
    response = logged_in(owner).get(
        f"/archives/{job.pk}/download/", headers={"Range": f"bytes={first}-{last}"}
    )
    assert response.status_code == 206 and body_of(response) == data[first : last + 1]


def test_resuming_a_broken_download_gives_the_same_bytes(ready):
    owner, job, _archive, data = ready
    client, url = logged_in(owner), f"/archives/{job.pk}/download/"
    etag = client.get(url)["ETag"]
    got = b""
    while len(got) < len(data):  # a client that loses the connection every 1,000 bytes
        response = client.get(url, headers={"Range": f"bytes={len(got)}-{len(got) + 999}", "If-Range": etag})
        assert response.status_code == 206
        got += body_of(response)
    assert got == data


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0"])
def test_a_range_past_the_end_is_416(ready, header):
    owner, job, _archive, data = ready
    response = logged_in(owner).get(f"/archives/{job.pk}/download/", headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("header", ["bytes=0-9,20-29", "items=0-9", "bytes=9-2", "bytes=abc", "bytes=-"])
def test_ranges_we_do_not_serve_send_the_whole_zip(ready, header):
    owner, job, _archive, data = ready
    response = logged_in(owner).get(f"/archives/{job.pk}/download/", headers={"Range": header})
    assert response.status_code == 200 and body_of(response) == data


def test_if_range_with_another_validator_sends_the_whole_zip(ready):
    owner, job, _archive, data = ready
    response = logged_in(owner).get(
        f"/archives/{job.pk}/download/", headers={"Range": "bytes=0-9", "If-Range": '"something-else"'}
    )
    assert response.status_code == 200 and body_of(response) == data


def test_nobody_else_gets_the_zip_not_even_with_a_token(ready, make_user):
    owner, job, _archive, data = ready
    other = make_user()
    url = f"/archives/{job.pk}/download/"
    assert logged_in(other).get(url).status_code == 404
    _row, key = create_api_token(other)
    assert Client().get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 404
    assert logged_in(other).get(f"/api/jobs/{job.pk}/").status_code == 404
    assert Client().get(url).status_code == 302  # anonymous: to the login page
    assert Client().get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    _row, own_key = create_api_token(owner)
    response = Client().get(url, headers={"Authorization": f"Bearer {own_key}"})
    assert response.status_code == 200 and body_of(response) == data


def test_unknown_and_unfinished_archives_are_404(make_user):
    owner = make_user()
    folder = create_folder(owner.pk, None, "F")
    image_file(owner, folder, "a.jpg", 1)
    job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    client = logged_in(owner)
    assert client.get(f"/archives/{job.pk}/download/").status_code == 404  # not built yet
    assert client.get("/archives/00000000-0000-0000-0000-000000000000/download/").status_code == 404


def test_an_expired_zip_is_410_for_its_owner_and_404_for_others(ready, make_user):
    owner, job, archive, _data = ready
    Archive.objects.filter(pk=archive.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    url = f"/archives/{job.pk}/download/"
    assert logged_in(owner).get(url).status_code == 410
    assert logged_in(make_user()).get(url).status_code == 404
