"""Steps the browser tests share."""

from playwright.sync_api import expect

PASSWORD = "a-long-password-1"


def log_in(page, user, password=PASSWORD):
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#dashboard-title")).to_have_text("Dashboard")
