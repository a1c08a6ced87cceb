from urllib.parse import unquote

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from media_library.api.tokens import create_api_token
from media_library.ingest import ingest_uploads
from media_library.models import Blob, MediaFile
from media_library.storage import rendition_name
from tests.support import images
from tests.support.images import upload

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def stored_file(owner, name, data):
    return ingest_uploads(owner, [upload(name, data)], thumbnails=False).stored[0].file


def body_of(response):
    return b"".join(response.streaming_content)


def test_owner_downloads_the_exact_bytes_with_safe_headers(make_user):
    owner = make_user()
    data = images.webp_bytes(seed=1)
    media_file = stored_file(owner, "holiday.webp", data)
    response = logged_in(owner).get(f"/files/{media_file.pk}/download/")
    assert response.status_code == 200
    assert body_of(response) == data
    assert response["Content-Type"] == "image/webp"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"holiday.webp\"; filename*=UTF-8''holiday.webp"
    )
    assert "private" in response["Cache-Control"]

    inline = logged_in(owner).get(f"/files/{media_file.pk}/raw/")
    assert inline.status_code == 200 and body_of(inline) == data
    assert inline["Content-Disposition"].startswith("inline; ")
    assert inline["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "hostile",
    [
        'a"; filename=evil.exe.jpg',
        "line\r\nSet-Cookie: session=stolen.jpg",
        "\u202egpj.exe",
        "Caf\u00e9 \u2014 \u65e5\u672c.jpg",
        "..\\..\\x.jpg",
    ],
)
def test_content_disposition_survives_hostile_names(make_user, hostile):
    owner = make_user()
    media_file = stored_file(owner, "x.jpg", images.jpeg_bytes(seed=2))
    # Written behind the naming rules' back, to prove the header is safe by itself.
    MediaFile.objects.filter(pk=media_file.pk).update(name=hostile)
    response = logged_in(owner).get(f"/files/{media_file.pk}/download/")
    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    disposition, fallback, extended = header.split("; ")
    assert disposition == "attachment"
    assert fallback.startswith('filename="') and fallback.endswith('"')
    assert '"' not in fallback[len('filename="') : -1] and "\\" not in fallback
    assert all(32 <= ord(ch) < 127 for ch in fallback)
    assert extended.startswith("filename*=UTF-8''")
    assert unquote(extended[len("filename*=UTF-8''") :]) == hostile
    assert "stolen" not in response.headers.get("Set-Cookie", "")


def test_other_users_and_anonymous_cannot_download(make_user):
    owner, other = make_user(), make_user()
    media_file = stored_file(owner, "mine.png", images.png_bytes(seed=3))
    for kind in ["download", "raw", "thumb/256"]:
        url = f"/files/{media_file.pk}/{kind}/"
        assert logged_in(other).get(url).status_code == 404
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert logged_in(other).get("/files/999999/download/").status_code == 404


def test_bearer_token_downloads_for_scripts(make_user):
    owner, other = make_user(), make_user()
    data = images.gif_bytes(seed=4)
    media_file = stored_file(owner, "a.gif", data)
    _token, key = create_api_token(owner)
    _token, other_key = create_api_token(other)
    url = f"/files/{media_file.pk}/download/"
    response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert (
        response.status_code == 200 and body_of(response) == data and response["Content-Type"] == "image/gif"
    )
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {other_key}").status_code == 404
    assert Client().get(url, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def is_placeholder(response):
    """A redirect to the static placeholder image."""
    return response.status_code == 302 and response["Location"].endswith(".svg")


def test_thumbnail_is_served_when_ready_else_a_placeholder(make_user):
    owner = make_user()
    media_file = stored_file(owner, "t.jpg", images.jpeg_bytes(seed=5))
    url = f"/files/{media_file.pk}/thumb/256/"
    assert is_placeholder(logged_in(owner).get(url))

    thumb = images.webp_bytes(32, 24, seed=6)
    default_storage.save(rendition_name(media_file.blob.sha256, 256), ContentFile(thumb))
    Blob.objects.filter(pk=media_file.blob_id).update(thumbnail_status=Blob.Thumbnail.READY)
    ready = logged_in(owner).get(url)
    assert ready.status_code == 200 and ready["Content-Type"] == "image/webp"
    assert body_of(ready) == thumb and ready["X-Content-Type-Options"] == "nosniff"
    assert "private" in ready["Cache-Control"]
    assert logged_in(owner).get(f"/files/{media_file.pk}/thumb/999/").status_code == 404


def test_missing_bytes_are_a_404_not_a_500(make_user):
    owner = make_user()
    media_file = stored_file(owner, "gone.png", images.png_bytes(seed=7))
    default_storage.delete(media_file.blob.storage_name)
    assert logged_in(owner).get(f"/files/{media_file.pk}/download/").status_code == 404
