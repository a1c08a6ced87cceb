"""In the browser: Download folder as ZIP, watch the card over the websocket, click its Download
link and open the file the browser saved."""

import hashlib
import zipfile

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from media_library.folders import create_folder
from tests.support.archives import image_file
from tests.support.browser import PASSWORD, log_in, wait_for_js
from tests.support.screenshots import shoot

pytestmark = pytest.mark.django_db(transaction=True)

WATCH = """
document.addEventListener("htmx:wsOpen", () => { window.__wsOpen = true; });
window.__cards = [];
new MutationObserver(() => {
  document.querySelectorAll("#page-jobs .job-card").forEach((card) => {
    const state = card.dataset.status + (card.dataset.result ? "+link" : "");
    if (window.__cards[window.__cards.length - 1] !== state) window.__cards.push(state);
  });
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


def test_download_a_folder_as_zip_from_the_card(page, make_user, celery_worker, live_server_url, tmp_path):
    user = make_user("zoe", password=PASSWORD)
    trip = create_folder(user.pk, None, "Reise 서울")
    day = create_folder(user.pk, trip.pk, "Tag 2")
    files = [image_file(user, trip, f"foto-{n}.jpg", 300 + n) for n in range(4)]
    files += [image_file(user, day, "foto-0.jpg", 310), image_file(user, day, "Foto-0.JPG", 311)]
    page.add_init_script(WATCH)
    log_in(page, user)
    page.goto(f"/library/folders/{trip.pk}/")
    wait_for_js(page, "window.__wsOpen === true")
    marker = page.evaluate("window.__noReload = Math.random()")

    page.locator(".fm-folder-actions").get_by_role("button", name="Download folder as ZIP").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Make a ZIP of 6 files to download?")
    expect(dialog).to_contain_text("With all its subfolders.")
    dialog.get_by_role("button", name="Download as ZIP").click()

    card = page.locator("#page-jobs .job-card").first
    expect(card.locator(".job-title")).to_have_text("ZIP download")
    link = card.get_by_role("link", name="Download", exact=True)
    expect(link).to_be_visible(timeout=60_000)  # pushed over the websocket once the ZIP is assembled
    expect(card).to_have_attribute("data-status", "succeeded")
    expect(card.locator(".job-bytes")).to_contain_text(" of ")
    assert page.evaluate("window.__noReload") == marker  # no reload: the card followed the socket
    wait_for_js(page, "window.__cards[window.__cards.length - 1] === 'succeeded+link'")
    states = page.evaluate("window.__cards")
    # The job stays running until its ZIP is assembled: `succeeded` always comes with the link.
    assert "succeeded" not in states, states
    shoot(page, "zip-download", clip=card.bounding_box())

    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"Reise 서울 {timezone.localdate().isoformat()}.zip"
    saved = tmp_path / "saved.zip"
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        digests = {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest()
            for info in archive.infolist()
            if not info.is_dir()
        }
    assert len(digests) == 6
    assert set(digests.values()) == {f.blob.sha256 for f in files}
    assert {name for name in digests if name.startswith("Reise 서울/Tag 2/")} in (
        {"Reise 서울/Tag 2/foto-0.jpg", "Reise 서울/Tag 2/Foto-0 (2).JPG"},
        {"Reise 서울/Tag 2/Foto-0.JPG", "Reise 서울/Tag 2/foto-0 (2).jpg"},
    )

    # The action bar: the ticked files of this folder, flat in the ZIP.
    page.get_by_label("Select all loaded").check()
    page.locator("#bulk-form").get_by_role("button", name="Download as ZIP").click()
    expect(page.get_by_role("dialog")).to_contain_text("Make a ZIP of 4 files to download?")
    page.get_by_role("dialog").get_by_role("button", name="Download as ZIP").click()
    expect(page.locator("#page-jobs .job-card")).to_have_count(2)
    flat = page.locator("#page-jobs .job-card").first.get_by_role("link", name="Download", exact=True)
    expect(flat).to_be_visible(timeout=60_000)
    with page.expect_download() as download_info:
        flat.click()
    assert download_info.value.suggested_filename.startswith("selection ")
    download_info.value.save_as(tmp_path / "flat.zip")
    with zipfile.ZipFile(tmp_path / "flat.zip") as archive:
        assert sorted(archive.namelist()) == [f"foto-{n}.jpg" for n in range(4)]
