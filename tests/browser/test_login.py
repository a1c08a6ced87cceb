import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_and_see_dashboard(page, make_user):
    make_user("dana", password="a-long-password-1")
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")  # anonymous users are sent to the login page
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#dashboard-title")).to_have_text("Dashboard")
    expect(page.get_by_text("Welcome, dana.")).to_be_visible()


def test_wrong_password_shows_error(page, make_user):
    make_user("erin", password="a-long-password-1")
    page.goto("/login/")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill("nope")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
