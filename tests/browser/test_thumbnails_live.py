"""Thumbnails appear in an open folder page as the `thumbnails` job makes them, with no reload."""

import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image
from playwright.sync_api import expect

from jobs.services import submit
from media_library.folders import create_folder
from media_library.models import Blob, MediaFile
from tests.support.browser import wait_for_js

pytestmark = pytest.mark.django_db(transaction=True)


def pending_file(owner, folder, n):
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (20 * n, 120, 200)).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    blob = Blob.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), format="JPEG", width=640, height=480
    )
    default_storage.save(blob.storage_name, ContentFile(data))
    return MediaFile.objects.create(owner=owner, folder=folder, name=f"p{n}.jpg", blob=blob, size=len(data))


def test_thumbnails_replace_placeholders_live(page, make_user, celery_worker):
    owner = make_user("tess", password="a-long-password-1")
    folder = create_folder(owner.pk, None, "fresh")
    files = [pending_file(owner, folder, n) for n in range(3)]
    page.goto("/login/")
    page.get_by_label("Username").fill("tess")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/library/folders/{folder.pk}/")
    thumbs = page.locator("img.thumb[data-thumb-pending]")
    expect(thumbs).to_have_count(3)
    # The placeholder is square; a 640x480 photo's thumbnail is 256x192.
    wait_for_js(page, "document.querySelector('img.thumb').naturalHeight === 256")
    submit("thumbnails", owner, [f.pk for f in files])
    wait_for_js(
        page,
        "Array.from(document.querySelectorAll('img.thumb')).every((img) => img.naturalHeight === 192)",
        timeout=30_000,
    )
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
