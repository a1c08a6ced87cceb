"""The upload page reports each file by its position, not its name: names the server makes safe
(collapsed spaces, macOS NFD accents, over 255 characters) still get their own verdict."""

import io
import unicodedata

import pytest
from PIL import Image
from playwright.sync_api import expect

from media_library.models import MediaFile

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-password-1"


def png(seed):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (seed * 40 % 256, 90, 20)).save(buffer, "PNG")
    return buffer.getvalue()


def test_rejections_and_renamed_files_get_their_own_verdict(page, make_user, celery_worker):
    user = make_user("noor", password=PASSWORD)
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/library/upload/")

    long_stem = "long" * 80  # 320 characters
    files = [
        ("two  spaces.png", png(1), "done"),
        (unicodedata.normalize("NFD", "café.png"), png(2), "done"),
        (f"{long_stem}.png", png(3), "done"),
        ("fake  photo.png", b"not an image at all", "rejected"),  # renamed by the server too
        (unicodedata.normalize("NFD", "résumé.png"), b"", "rejected"),  # empty
        (f"{'bad' * 120}.png", b"GIF89a but truncated", "rejected"),
    ]
    page.locator("[data-file-input]").set_input_files(
        [{"name": name, "mimeType": "image/png", "buffer": data} for name, data, _ in files]
    )
    expect(page.locator("[data-overall-text]")).to_have_text("3 of 6 uploaded, 3 rejected", timeout=30_000)
    items = page.locator(".upload-item")
    for position, (_name, _data, verdict) in enumerate(files):
        expect(items.nth(position)).to_have_attribute("data-status", verdict)
    expect(items.nth(0).locator(".upload-status")).to_contain_text("“two spaces.png”")
    expect(items.nth(3).locator(".upload-status")).to_contain_text("Not a supported image")
    expect(items.nth(4).locator(".upload-status")).to_contain_text("empty")

    stored = set(MediaFile.objects.filter(owner=user).values_list("name", flat=True))
    assert stored == {"two spaces.png", "café.png", f"{long_stem[:251]}.png"}
