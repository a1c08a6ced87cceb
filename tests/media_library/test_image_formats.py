"""One list of image formats (media_library.imaging.IMAGE_FORMATS) drives the upload form's
`accept` and its hint, and the Content-Type of a download."""

import html
import re

import pytest
from django.test import Client

from media_library import imaging
from media_library.imaging import ImageFormat
from media_library.ingest import ingest_uploads
from tests.support import images
from tests.support.images import upload

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def upload_form(client):
    page = client.get("/library/upload/").content.decode()
    accept = re.search(r'accept="([^"]*)" class="visually-hidden" data-file-input', page)[1]
    hint = re.search(r'<p class="hint">([^<]*)</p>', page)[1]
    return accept, html.unescape(hint)


def test_the_upload_form_lists_the_formats_imaging_takes(make_user, monkeypatch):
    client = logged_in(make_user())
    assert upload_form(client) == (
        "image/jpeg,image/png,image/webp,image/gif",
        "JPEG, PNG, WebP and GIF. A folder keeps its structure.",
    )
    monkeypatch.setattr(
        imaging, "IMAGE_FORMATS", {**imaging.IMAGE_FORMATS, "BMP": ImageFormat("image/bmp", "BMP")}
    )
    assert upload_form(client) == (
        "image/jpeg,image/png,image/webp,image/gif,image/bmp",
        "JPEG, PNG, WebP, GIF and BMP. A folder keeps its structure.",
    )


def test_a_download_is_typed_from_the_same_list(make_user, monkeypatch):
    owner = make_user()
    stored = ingest_uploads(owner, [upload("plan.png", images.png_bytes(seed=3))], thumbnails=False).stored[0]
    client = logged_in(owner)
    assert client.get(f"/files/{stored.file.pk}/download/")["Content-Type"] == "image/png"
    monkeypatch.setitem(imaging.IMAGE_FORMATS, "PNG", ImageFormat("image/x-test-png", "PNG"))
    assert client.get(f"/files/{stored.file.pk}/download/")["Content-Type"] == "image/x-test-png"
