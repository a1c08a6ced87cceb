"""The file manager in Debian chromium: browse, select, scroll, upload, bulk jobs, screenshots.

Screenshots of the main views go to docs/screenshots/
with MEDIAFLOW_SCREENSHOTS=1 (see tests/support/screenshots).
"""

import time

import pytest
from PIL import Image
from playwright.sync_api import expect

from media_library.models import Blob
from tests.support.browser import PASSWORD, log_in, wait_for_js
from tests.support.page_rows import make_file, make_files, make_folder, trash
from tests.support.screenshots import shoot

pytestmark = pytest.mark.django_db(transaction=True)

JOB_TIMEOUT_MS = 60_000


def rows(page):
    return page.locator("#file-list > li.file")


def test_browse_select_ranges_scroll_and_confirm_the_exact_count(page, make_user):
    user = make_user("ines", password=PASSWORD)
    parent = make_folder(user, "Photos")
    folder = make_folder(user, "Summer <2024>", parent=parent)
    make_folder(user, "Best of", parent=folder)
    make_files(user, 230, folder=folder, prefix="beach")
    make_files(user, 20, folder=folder, prefix="sunset")
    log_in(page, user)

    page.get_by_role("link", name="Files", exact=True).click()
    expect(page.locator("#folder-title")).to_have_text("Library")
    page.get_by_role("link", name="Photos").first.click()
    page.get_by_role("link", name="Summer <2024>").first.click()
    expect(page.locator("#folder-title")).to_have_text("Summer <2024>")  # shown as text, not markup
    expect(rows(page)).to_have_count(100)
    shoot(page, "folder-grid")

    # Shift-click selects a range; the count follows.
    boxes = page.locator("#file-list .select-file")
    boxes.nth(2).click()
    boxes.nth(6).click(modifiers=["Shift"])
    expect(page.locator("[data-selected-count]")).to_have_text("5 selected")
    expect(page.locator("#file-list li.selected")).to_have_count(5)
    expect(page.get_by_role("button", name="Move to trash")).to_be_enabled()

    # Infinite scroll: the last row is revealed, the next page is appended, twice.
    rows(page).last.scroll_into_view_if_needed()
    expect(rows(page)).to_have_count(200)
    rows(page).last.scroll_into_view_if_needed()
    expect(rows(page)).to_have_count(250)

    # Select all loaded, then all in the folder; the server confirms the exact count.
    page.get_by_label("Select all loaded").check()
    expect(page.locator("[data-selected-count]")).to_have_text("250 selected")
    page.get_by_role("button", name="Move to trash").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Move 250 files to the trash?")
    shoot(page, "confirm-trash")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    # Filter by name: the listing and "select all N" follow the filter.
    page.get_by_label("Filter by name").fill("sunset")
    expect(rows(page)).to_have_count(20)
    expect(page).to_have_url(f"/library/folders/{folder.pk}/?q=sunset&sort=name&view=grid")
    page.get_by_label("Select all loaded").check()
    page.get_by_role("button", name="Move to trash").click()
    expect(page.get_by_role("dialog")).to_contain_text("Move 20 files to the trash?")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)

    # List view and the detail panel.
    page.get_by_label("List view").check()
    expect(page.locator("#listing-state.view-list")).to_be_visible()
    rows(page).first.locator(".file-open").click()
    panel = page.locator("#detail-panel")
    expect(panel).to_contain_text("SHA-256")
    expect(panel).to_contain_text("640 \u00d7 480 px")
    expect(panel.get_by_role("link", name="Download")).to_have_attribute(
        "href", "/files/" + rows(page).first.get_attribute("data-file-id") + "/download/"
    )
    shoot(page, "folder-list-detail")


def test_select_all_in_folder_beyond_the_loaded_rows(page, make_user):
    user = make_user("jo", password=PASSWORD)
    folder = make_folder(user, "Archive")
    make_files(user, 340, folder=folder)
    log_in(page, user)
    page.goto(f"/library/folders/{folder.pk}/")
    page.get_by_label("Select all loaded").check()
    expect(page.locator("[data-selected-count]")).to_have_text("100 selected")
    page.get_by_role("button", name="Select all 340 in this folder").click()
    expect(page.locator("[data-selected-count]")).to_have_text("All 340 selected")
    rows(page).last.scroll_into_view_if_needed()
    expect(rows(page)).to_have_count(200)
    expect(page.locator("#file-list li.selected")).to_have_count(200)  # new rows join "all"
    page.get_by_role("button", name="Copy to…").click()
    expect(page.get_by_role("dialog")).to_contain_text("Copy 340 files to")
    page.get_by_role("button", name="Cancel").click()
    # Unticking one file leaves "all" for an explicit selection.
    page.locator("#file-list .select-file").first.uncheck()
    expect(page.locator("[data-selected-count]")).to_have_text("199 selected")


def test_trash_upload_pages_and_phone_width(page, make_user):
    user = make_user("kim", password=PASSWORD)
    folder = make_folder(user, "Old stuff")
    files = [make_file(user, f"scan-{i}.png", folder=folder) for i in range(6)]
    trash(files[:4])
    log_in(page, user)
    page.get_by_role("link", name="Trash").first.click()
    expect(rows(page)).to_have_count(4)
    expect(rows(page).first).to_contain_text("Deleted forever in")
    expect(rows(page).first.get_by_role("link", name="Old stuff")).to_be_visible()
    expect(page.get_by_role("button", name="Empty trash")).to_be_enabled()
    shoot(page, "trash")
    page.goto(f"/library/upload/?folder={folder.pk}")
    expect(page.get_by_role("heading", name="Upload to “Old stuff”")).to_be_visible()
    shoot(page, "upload")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/library/folders/{folder.pk}/")
    expect(rows(page)).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    shoot(page, "phone-folder")


# --- the whole flow: needs the ingest API, the operations and the jobs engine (merged together) ---


def make_image_folder(root):
    """trip/{a.jpg, b.png, day2/c.jpg}: real, distinct images."""
    trip = root / "trip"
    (trip / "day2").mkdir(parents=True)
    Image.new("RGB", (640, 480), (200, 40, 40)).save(trip / "a.jpg", quality=90)
    Image.new("RGB", (300, 500), (40, 160, 60)).save(trip / "b.png")
    Image.new("RGB", (800, 600), (30, 60, 200)).save(trip / "day2" / "c.jpg", quality=90)
    return trip


def wait_for(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def finish_job(page, cards=1):
    """The newest job card started from this page (the `cards`-th) reaches succeeded, pushed over
    the websocket."""
    area = page.locator("#page-jobs [id^='job-']")
    expect(area).to_have_count(cards)  # the new card is there, not only an older finished one
    card = area.first  # new cards go first
    expect(card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    return card


def test_upload_a_folder_move_trash_and_restore_with_live_job_cards(page, make_user, celery_worker, tmp_path):
    user = make_user("lena", password=PASSWORD)
    trip = make_image_folder(tmp_path)
    log_in(page, user)
    page.goto("/library/")

    # Upload a whole folder: the structure is recreated, each file reports its result.
    page.get_by_role("button", name="Upload").click()
    page.locator("[data-folder-input]").set_input_files(trip)
    expect(page.locator("[data-overall-text]")).to_have_text("3 of 3 uploaded", timeout=30_000)
    expect(page.locator(".upload-item[data-status='done']")).to_have_count(3)
    shoot(page, "upload-done")
    page.locator(".folder-tile", has_text="trip").click()
    expect(rows(page)).to_have_count(2)
    expect(page.locator(".folder-tile", has_text="day2")).to_be_visible()
    wait_for(lambda: not Blob.objects.exclude(thumbnail_status=Blob.Thumbnail.READY).exists(), "thumbnails")
    page.reload()
    for img in rows(page).locator("img.thumb").all():  # the real thumbnails load
        assert "/thumb/256/" in img.get_attribute("src")
        wait_for_js(page, "img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    shoot(page, "folder-thumbnails")
    trip_url = page.url

    # A new folder to move into.
    page.goto("/library/")
    page.locator(".fm-folder-actions").get_by_role("button", name="New folder").click()
    page.get_by_label("Folder name").fill("Moved")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#folder-title")).to_have_text("Moved")
    moved_url = page.url

    # Select all, move: the job card appears at once and finishes without a reload.
    page.goto(trip_url)
    marker = page.evaluate("window.__noReload = Math.random()")
    page.get_by_label("Select all loaded").check()
    page.get_by_role("button", name="Move to…").click()
    page.get_by_label("Destination folder").select_option(label="Moved")
    page.get_by_role("dialog").get_by_role("button", name="Move to").click()
    finish_job(page)
    expect(rows(page)).to_have_count(0)  # the listing refreshed itself
    assert page.evaluate("window.__noReload") == marker
    shoot(page, "job-card-finished")

    # Trash them.
    page.goto(moved_url)
    expect(rows(page)).to_have_count(2)
    page.get_by_label("Select all loaded").check()
    page.get_by_role("button", name="Move to trash").click()
    expect(page.get_by_role("dialog")).to_contain_text("Move 2 files to the trash?")
    page.get_by_role("dialog").get_by_role("button", name="Move to trash").click()
    finish_job(page)
    expect(rows(page)).to_have_count(0)

    # Restore them from the Trash; they are back in "Moved".
    page.goto("/library/trash/")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).first).to_contain_text("Moved")
    page.get_by_label("Select all loaded").check()
    page.get_by_role("button", name="Restore").click()
    page.get_by_role("dialog").get_by_role("button", name="Restore").click()
    finish_job(page)
    expect(rows(page)).to_have_count(0)
    page.goto(moved_url)
    expect(rows(page)).to_have_count(2)

    # Rename by pattern, numbered in the order shown.
    page.get_by_label("Select all loaded").check()
    page.get_by_role("button", name="Rename…").click()
    page.get_by_label("Name pattern").fill("trip-{n:03}{ext}")
    page.get_by_role("dialog").get_by_role("button", name="Rename").click()
    finish_job(page)
    expect(rows(page).locator(".file-name")).to_have_text(["trip-001.jpg", "trip-002.png"])

    # Trash them again and empty the trash (after the job's undo window).
    page.get_by_label("Select all loaded").check()
    page.get_by_role("button", name="Move to trash").click()
    page.get_by_role("dialog").get_by_role("button", name="Move to trash").click()
    finish_job(page, cards=2)
    page.goto("/library/trash/")
    page.get_by_role("button", name="Empty trash").click()
    expect(page.get_by_role("dialog")).to_contain_text("Permanently delete all 2 files in the trash?")
    page.get_by_role("dialog").get_by_role("button", name="Empty trash").click()
    finish_job(page)
    expect(page.get_by_text("The trash is empty.")).to_be_visible()


def test_upload_shows_each_rejection_and_retries_a_failed_file(page, make_user, celery_worker, tmp_path):
    user = make_user("milo", password=PASSWORD)
    good = tmp_path / "good.jpg"
    Image.new("RGB", (320, 240), (90, 90, 20)).save(good)
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image, whatever the name says")
    log_in(page, user)
    page.goto("/library/upload/")
    # The network drops the first request (all its files fail, each can be retried); the real
    # server answers every later one.
    attempts = []

    def drop_first(route):
        attempts.append(route.request.url)
        if len(attempts) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/files/", drop_first)
    page.locator("[data-file-input]").set_input_files([good, fake])
    failed = page.locator(".upload-item[data-status='failed']")
    expect(failed).to_have_count(2)
    expect(failed.first).to_contain_text("Network error")
    page.get_by_role("button", name="Retry good.jpg").click()
    expect(page.locator(".upload-item", has_text="good.jpg")).to_have_attribute("data-status", "done")
    page.get_by_role("button", name="Retry notes.jpg").click()
    rejected = page.locator(".upload-item", has_text="notes.jpg")
    expect(rejected).to_have_attribute("data-status", "rejected")
    expect(rejected.locator(".upload-status")).not_to_be_empty()
    expect(rejected.get_by_role("button", name="Retry notes.jpg")).to_be_hidden()  # the server said no
    expect(page.locator("[data-overall-text]")).to_have_text("1 of 2 uploaded, 1 rejected")
    assert len(attempts) == 3
    shoot(page, "upload-errors")


DROP_PNG_ON = """async ([selector, name]) => {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 48;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#3a7"; ctx.fillRect(0, 0, 64, 48);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], name, { type: "image/png" }));
  const target = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }
}"""


def test_drop_a_file_onto_a_folder_tile_uploads_into_that_folder(page, make_user, celery_worker):
    user = make_user("nora", password=PASSWORD)
    inbox = make_folder(user, "Inbox")
    log_in(page, user)
    page.goto("/library/")
    page.evaluate(DROP_PNG_ON, [f".folder-tile[data-drop-folder='{inbox.pk}']", "dropped.png"])
    expect(page.locator("[data-overall-text]")).to_have_text("1 of 1 uploaded")
    page.goto(f"/library/folders/{inbox.pk}/")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("dropped.png")
