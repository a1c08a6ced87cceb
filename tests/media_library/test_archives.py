"""Download as ZIP on real services: a real worker builds the parts, assembles the archive, and the
ZIP comes back over real HTTP (daphne) and is read by zipfile, unzip and bsdtar.

A folder tree of 300 files with conflicting and Korean names keeps its tree; a flat selection of
the same files gets unique names, and a file whose bytes are missing is listed in MISSING.txt.
"""

import re
import time
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import PurePosixPath

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from jobs.models import Job
from media_library.actions import submit_action
from media_library.api.tokens import create_api_token
from media_library.archives.building import NO_BYTES
from media_library.folders import create_folder
from media_library.models import Archive
from tests.support.archives import (
    check_with_tools,
    cookie_header,
    http_get,
    image_file,
    wait_for_archive,
    zip_digests,
)

pytestmark = pytest.mark.django_db(transaction=True)

TOP = "Trips 여행"
NFC_NAME = unicodedata.normalize("NFC", "사진.jpg")
NFD_NAME = unicodedata.normalize("NFD", "사진.jpg")


def build_tree(owner):
    """A tree of 300 files: name clashes that only a case-insensitive, Unicode-normalising view
    sees, a folder and a file of the same name, an empty folder, a hostile name."""
    top = create_folder(owner.pk, None, TOP)
    y2024 = create_folder(owner.pk, top.pk, "2024")
    seoul = create_folder(owner.pk, y2024.pk, "서울")
    deep = create_folder(owner.pk, seoul.pk, "깊은 폴더")
    beach_upper = create_folder(owner.pk, top.pk, "Beach")
    beach_lower = create_folder(owner.pk, top.pk, "beach")
    photo_folder = create_folder(owner.pk, y2024.pk, "photo.jpg")
    create_folder(owner.pk, top.pk, "Empty")
    seed = iter(range(10_000, 20_000))
    special = {
        "photo": image_file(owner, y2024, "photo.jpg", next(seed)),  # beside the folder "photo.jpg"
        "photo2": image_file(owner, y2024, "Photo (2).jpg", next(seed)),
        "upper": image_file(owner, y2024, "IMG_0001.JPG", next(seed)),
        "lower": image_file(owner, y2024, "img_0001.jpg", next(seed)),
        "nfc": image_file(owner, seoul, NFC_NAME, next(seed)),
        "nfd": image_file(owner, seoul, NFD_NAME, next(seed)),
        "hostile": image_file(owner, top, "../../etc/passwd", next(seed)),
    }
    folders = [top, y2024, seoul, deep, beach_upper, beach_lower, photo_folder]
    plain = [
        image_file(owner, folders[i % len(folders)], f"shot-{i // len(folders):03d}.jpg", next(seed))
        for i in range(300 - len(special))
    ]
    return {"folders": folders, "special": special, "files": [*special.values(), *plain]}


def download(live_server_url, user, url, session_cookie):
    status, headers, body = http_get(live_server_url, url, cookie_header(session_cookie(user)))
    assert status == 200, body[:200]
    assert int(headers["content-length"]) == len(body)
    return headers, body


def test_folder_tree_of_300_files_downloads_as_a_zip_whose_paths_follow_the_tree(
    celery_worker, live_server_url, make_user, session_cookie, settings, tmp_path
):
    settings.ARCHIVE_CHUNK_FILES = 40  # several parts, built by the worker's two processes
    owner = make_user()
    tree = build_tree(owner)
    top = tree["folders"][0]
    job, count = submit_action(owner, "archive", {"scope": "tree", "folder_id": top.pk})
    assert count == 300 and job.queue == "bulk" and job.chunk_count == 8
    archive = wait_for_archive(job)
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("succeeded", 300, 0)

    headers, body = download(live_server_url, owner, f"/archives/{job.pk}/download/", session_cookie)
    assert headers["content-type"] == "application/zip"
    assert headers["content-disposition"].startswith('attachment; filename="Trips ')
    assert archive.name.startswith(f"{TOP} ") and archive.name.endswith(".zip")
    path = tmp_path / "tree.zip"
    path.write_bytes(body)
    digests = zip_digests(path)
    assert sorted(check_with_tools(path)) == sorted(digests)

    directories = {name for name in digests if name.endswith("/")}
    beach = {f"{TOP}/Beach/", f"{TOP}/beach (2)/"}, {f"{TOP}/beach/", f"{TOP}/Beach (2)/"}
    assert directories - beach[0] - beach[1] == {
        f"{TOP}/", f"{TOP}/2024/", f"{TOP}/2024/서울/", f"{TOP}/2024/서울/깊은 폴더/",
        f"{TOP}/2024/photo.jpg/", f"{TOP}/Empty/",
    }  # fmt: skip
    assert directories & (beach[0] | beach[1]) in beach  # case-insensitive twins: one gets "(2)"

    by_sha = {name: sha for name, sha in digests.items() if not name.endswith("/")}
    assert len(by_sha) == 300
    path_of = {sha: name for name, sha in by_sha.items()}
    assert set(path_of) == {f.blob.sha256 for f in tree["files"]}  # every file once, exact bytes

    # Paths follow the tree: all files of a folder share its directory, one directory per folder.
    dir_of_folder = defaultdict(set)
    for media_file in tree["files"]:
        dir_of_folder[media_file.folder_id].add(str(PurePosixPath(path_of[media_file.blob.sha256]).parent))
    assert all(len(dirs) == 1 for dirs in dir_of_folder.values()), dir_of_folder
    assert len({next(iter(dirs)) for dirs in dir_of_folder.values()}) == len(tree["folders"])

    special = {key: path_of[f.blob.sha256] for key, f in tree["special"].items()}
    assert special["photo2"] == f"{TOP}/2024/Photo (2).jpg"
    assert special["photo"] == f"{TOP}/2024/photo (3).jpg"  # the folder and "Photo (2).jpg" came first
    assert {special["upper"], special["lower"]} in (
        {f"{TOP}/2024/IMG_0001.JPG", f"{TOP}/2024/img_0001 (2).jpg"},
        {f"{TOP}/2024/img_0001.jpg", f"{TOP}/2024/IMG_0001 (2).JPG"},
    )
    seoul = f"{TOP}/2024/서울"
    assert {special["nfc"], special["nfd"]} == {f"{seoul}/{NFC_NAME}", f"{seoul}/사진 (2).jpg"}
    assert special["hostile"] == f"{TOP}/passwd"
    assert all(unicodedata.is_normalized("NFC", name) for name in digests)


def test_flat_selection_through_the_api_lists_missing_bytes_and_avoids_every_name_clash(
    celery_worker, live_server_url, make_user, tmp_path
):
    owner = make_user()
    _token, token = create_api_token(owner)
    tree = build_tree(owner)
    missing = tree["files"][-1]
    default_storage.delete(missing.blob.storage_name)  # its bytes are gone
    listing = image_file(owner, None, "MISSING.txt", 99)  # the list must not take this name
    ids = [f.pk for f in tree["files"]] + [listing.pk]
    auth = {"Authorization": f"Bearer {token}"}

    client = Client(headers=auth)
    request = {"action": "archive", "file_ids": ids}
    response = client.post("/api/jobs/", request, content_type="application/json")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job_id"])
    wait_for_archive(job)
    body = client.get(f"/api/jobs/{job.pk}/").json()
    assert (body["status"], body["done"], body["failed"]) == ("partial", 300, 1)
    assert body["failures"] == [{"item_id": missing.pk, "reason": NO_BYTES}]
    assert body["download_url"] == f"/archives/{job.pk}/download/"

    status, headers, data = http_get(live_server_url, body["download_url"], auth)
    assert status == 200 and int(headers["content-length"]) == len(data)
    path = tmp_path / "flat.zip"
    path.write_bytes(data)
    digests = zip_digests(path)
    check_with_tools(path)
    names = [name for name in digests if name != "MISSING (2).txt"]
    assert len(names) == 300 and all("/" not in name for name in names)  # flat: all at the root
    assert len({unicodedata.normalize("NFC", n).casefold() for n in names}) == 300  # no clash at all
    expected = {f.blob.sha256 for f in tree["files"] if f.pk != missing.pk} | {listing.blob.sha256}
    assert set(digests[name] for name in names) == expected
    assert digests["MISSING.txt"] == listing.blob.sha256  # the user's own file keeps its name
    with zipfile.ZipFile(path) as archive:
        listed = archive.read("MISSING (2).txt").decode().splitlines()
    assert listed[0] == "1 selected file could not be put in this archive (path, then why):"
    stem = missing.name.removesuffix(".jpg")
    assert re.fullmatch(rf"{stem}( \(\d\))?\.jpg\t{NO_BYTES}", listed[2])
    assert len(listed) == 3


def test_another_user_gets_404_for_the_download_and_the_job(
    celery_worker, live_server_url, make_user, session_cookie
):
    owner, other = make_user(), make_user()
    folder = create_folder(owner.pk, None, "Mine")
    image_file(owner, folder, "a.jpg", 1)
    job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    wait_for_archive(job)
    url = f"/archives/{job.pk}/download/"
    assert http_get(live_server_url, url, cookie_header(session_cookie(owner)))[0] == 200
    assert http_get(live_server_url, url, cookie_header(session_cookie(other)))[0] == 404
    _token, token = create_api_token(other)
    assert http_get(live_server_url, url, {"Authorization": f"Bearer {token}"})[0] == 404
    assert http_get(live_server_url, f"/api/jobs/{job.pk}/", {"Authorization": f"Bearer {token}"})[0] == 404
    status, headers, _ = http_get(live_server_url, url)  # nobody: the login page, nothing else
    assert status == 302 and headers["location"].startswith("/login/")
    assert Archive.objects.get(job=job).owner == owner


def test_a_client_polling_the_job_never_reads_succeeded_without_its_download(celery_worker, make_user):
    """The job stays running while the worker assembles the ZIP, then succeeds with its link."""
    owner = make_user()
    folder = create_folder(owner.pk, None, "Poll")
    ids = [image_file(owner, folder, f"p{n}.jpg", 900 + n).pk for n in range(12)]
    client = Client(headers={"Authorization": f"Bearer {create_api_token(owner)[1]}"})
    response = client.post(
        "/api/jobs/", {"action": "archive", "file_ids": ids}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(response.json()["status_url"]).json()
        seen.append(body["status"])
        if body["status"] not in ("queued", "running"):
            break
    assert body["status"] == "succeeded", seen
    assert body["download_url"] == f"/archives/{body['id']}/download/"
    assert Archive.objects.get(job_id=body["id"]).status == Archive.Status.READY
