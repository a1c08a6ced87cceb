"""In the browser: job cards arrive and move over the websocket, with no reload."""

import uuid

import pytest
from playwright.sync_api import expect

from jobs.models import Job
from jobs.services import submit

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
    page.wait_for_function("window.__wsOpen === true")
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
