"""Concurrent uploads of the same bytes and the same name, on real database connections."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from media_library.ingest import ingest_uploads
from media_library.models import Blob, Folder, MediaFile
from tests.support import images
from tests.support.images import upload

WRITERS = 6


@pytest.mark.django_db(transaction=True)  # each thread has its own connection and transactions
def test_same_bytes_and_name_uploaded_at_once_all_succeed(make_user):
    owner = make_user()
    data = images.png_bytes(seed=77)
    start = threading.Barrier(WRITERS)

    def one_upload(_n):
        try:
            start.wait(timeout=30)
            outcome = ingest_uploads(owner, [upload("same.png", data)], thumbnails=False)
            return outcome.errors, [item.file.name for item in outcome.stored]
        finally:
            connection.close()

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(one_upload, range(WRITERS)))

    assert [errors for errors, _names in results] == [[]] * WRITERS
    names = sorted(name for _errors, stored in results for name in stored)
    assert names == sorted(["same.png"] + [f"same ({n}).png" for n in range(2, WRITERS + 1)])
    assert Blob.objects.count() == 1
    assert MediaFile.objects.filter(owner=owner, blob__sha256=Blob.objects.get().sha256).count() == WRITERS


@pytest.mark.django_db(transaction=True)
def test_concurrent_folder_uploads_share_one_new_folder(make_user):
    owner = make_user()
    start = threading.Barrier(WRITERS)

    def one_upload(n):
        try:
            start.wait(timeout=30)
            data = images.jpeg_bytes(seed=100 + n)
            outcome = ingest_uploads(
                owner, [upload(f"{n}.jpg", data)], relative_paths=[f"Album/Day/{n}.jpg"], thumbnails=False
            )
            return outcome.errors, [item.file.folder_id for item in outcome.stored]
        finally:
            connection.close()

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(one_upload, range(WRITERS)))

    assert [errors for errors, _ids in results] == [[]] * WRITERS
    day = Folder.objects.get(owner=owner, name="Day")
    album = Folder.objects.get(owner=owner, name="Album", parent=None)
    assert Folder.objects.filter(owner=owner).count() == 2
    assert day.parent_id == album.pk and day.path == f"/{album.pk}/{day.pk}/"
    assert {folder_id for _errors, ids in results for folder_id in ids} == {day.pk}
