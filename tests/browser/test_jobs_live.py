"""In the browser: job cards arrive and move over the websocket, with no reload."""

import uuid

import pytest
from playwright.sync_api import expect

from jobs.models import Job
from jobs.services import submit
from tests.support.browser import wait_for_js

pytestmark = pytest.mark.django_db(transaction=True)

WATCH_CARDS = """
window.__pageId = Math.random();
window.__seen = {};
document.addEventListener("htmx:wsOpen", () => { window.__wsOpen = true; });
new MutationObserver(() => {
  document.querySelectorAll(".job-card").forEach((card) => {
    const seen = (window.__seen[card.id] = window.__seen[card.id] || []);
    const done = Number(card.dataset.done);
    if (seen[seen.length - 1] !== done) seen.push(done);
  });
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


def test_retry_from_the_browser_and_watch_the_bar_move_to_the_end(page, celery_worker, test_kinds, make_user):
    user = make_user("frank", password="a-long-password-1")
    page.add_init_script(WATCH_CARDS)
    page.goto("/login/")
    page.get_by_label("Username").fill("frank")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#dashboard-title")).to_be_visible()
    wait_for_js(page, "window.__wsOpen === true")
    page_id = page.evaluate("window.__pageId")

    # A job started elsewhere appears in the panel live; some of its items fail once.
    params = {
        "chunk_size": 10,
        "sleep": 0.1,
        "fail_once_tag": uuid.uuid4().hex,
        "fail_once_ids": list(range(1, 61)),
    }
    first = submit("test.record", user, range(1, 201), params=params)
    card = page.locator(f"#job-{first.pk}")
    expect(card).to_have_attribute("data-status", "partial", timeout=30_000)
    expect(card).to_have_attribute("data-failed", "60")
    expect(card.locator(".job-failed-count")).to_have_text("60 failed")

    # Retry the failed items with the card's button: the new job's card shows up and runs to the end.
    card.get_by_role("button", name="Retry failed").click()
    expect(page.locator(".job-card")).to_have_count(2, timeout=15_000)
    retry = Job.objects.get(retry_of=first)
    retry_card = page.locator(f"#job-{retry.pk}")
    expect(retry_card).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(retry_card).to_have_attribute("data-done", "60")
    expect(retry_card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "60")

    dones = page.evaluate(f"window.__seen['job-{first.pk}']")
    assert len(dones) >= 3 and dones == sorted(dones) and dones[-1] == 140  # the bar moved, forwards
    assert page.evaluate("window.__pageId") == page_id  # same page all along: no reload
    retry.refresh_from_db()
    assert (retry.status, retry.done) == ("succeeded", 60)


WATCH_HTMX_ERRORS = """
window.__htmxErrors = [];
// htmx reports every error as its own event (e.g. htmx:oobErrorNoTarget) and then as htmx:error.
for (const name of ["htmx:error", "htmx:oobErrorNoTarget", "htmx:swapError", "htmx:wsError"]) {
  document.addEventListener(name, () => window.__htmxErrors.push(name));
}
document.addEventListener("htmx:wsOpen", () => { window.__wsOpen = true; });
"""


def console_errors(page):
    """Every console error of the page (the favicon's included: it is served)."""
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def log_in(page, username, password):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("path", ["/", "job-page"])
def test_new_jobs_appear_live_without_htmx_errors(page, celery_worker, test_kinds, make_user, path):
    """A job started elsewhere while the page is open gets its card inserted (an out-of-band swap
    with a target), then moved; the console stays clean, on a page with the panel and on a job's
    own page (no panel, a hidden list)."""
    user = make_user("nadia", password="a-long-password-1")
    earlier = submit("test.record", user, [1, 2, 3])
    errors = console_errors(page)
    page.add_init_script(WATCH_HTMX_ERRORS)
    log_in(page, "nadia", "a-long-password-1")
    expect(page.locator("#dashboard-title")).to_be_visible()
    if path == "job-page":
        page.goto(f"/jobs/{earlier.pk}/")
    wait_for_js(page, "window.__wsOpen === true")

    started = [
        submit("test.record", user, range(1, 41), params={"chunk_size": 10, "sleep": 0.05}) for _ in range(3)
    ]
    for job in started:
        expect(page.locator(f"#jobs-panel-list #job-{job.pk}")).to_have_attribute(
            "data-status", "succeeded", timeout=30_000
        )
        expect(page.locator(f"#job-{job.pk}")).to_have_count(1)  # inserted once, then swapped in place
    assert page.evaluate("window.__htmxErrors") == []
    assert errors == []
