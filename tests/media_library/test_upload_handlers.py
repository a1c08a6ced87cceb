import os

import pytest
from django.test import Client

from media_library.models import MediaFile
from media_library.upload_handlers import SizeCappedTemporaryFileUploadHandler
from tests.support import images
from tests.support.multipart import post_files

HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "media_library.upload_handlers.SizeCappedTemporaryFileUploadHandler",
]


def test_bytes_past_the_limit_never_reach_the_disk(settings):
    settings.MAX_UPLOAD_BYTES = 100_000
    handler = SizeCappedTemporaryFileUploadHandler()
    handler.new_file("files", "big.png", "image/png", 1_000_000)
    chunk = b"x" * 65_536
    for start in range(0, 1_000_000, len(chunk)):
        handler.receive_data_chunk(chunk, start)
    upload = handler.file_complete(1_000_000)
    try:
        assert upload.size == 1_000_000  # what the client sent, so ingest rejects it as too large
        assert os.path.getsize(upload.temporary_file_path()) <= 100_000
    finally:
        upload.close()


@pytest.mark.django_db
def test_an_oversized_upload_is_rejected_and_the_others_stored(settings, make_user):
    assert settings.FILE_UPLOAD_HANDLERS == HANDLERS  # enabled by the project settings
    settings.MAX_UPLOAD_BYTES = 300_000
    user = make_user()
    client = Client()
    client.force_login(user)
    big = images.large_png_bytes(600_000)
    small = images.large_png_bytes(290_000, seed=1)  # over the 256 KB memory limit: on disk too
    response = post_files(client, "/api/files/", [("big.png", big), ("small.png", small)])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["errors"] == [
        {"index": 0, "name": "big.png", "error": "The file is larger than the upload limit of 300000 bytes."}
    ]
    assert [f["name"] for f in body["files"]] == ["small.png"] and body["files"][0]["size"] == len(small)
    assert MediaFile.objects.get(owner=user).name == "small.png"
