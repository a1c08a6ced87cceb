"""Steps the browser tests share."""

import time

from playwright.sync_api import expect

PASSWORD = "a-long-password-1"


def log_in(page, user, password=PASSWORD):
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#dashboard-title")).to_have_text("Dashboard")


def wait_for_js(page, expression, arg=None, timeout=15_000):
    """Like `page.wait_for_function`, polled from here: Playwright polls a predicate by eval()
    inside the page, which the site's Content-Security-Policy (no 'unsafe-eval') refuses, while
    `page.evaluate` is not the page's own script. Returns the first truthy value."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        result = page.evaluate(expression, arg)
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} still false after {timeout} ms")
        page.wait_for_timeout(50)  # lets Playwright deliver the page's events meanwhile
