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


def test_guessing_passwords_ends_on_the_locked_out_page(page, make_user, settings):
    make_user("gus", password="a-long-password-1")
    page.goto("/login/")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill("gus")
        page.get_by_label("Password").fill(f"guess-{attempt}")
        with page.expect_response(lambda response: response.request.method == "POST") as answer:
            page.get_by_role("button", name="Log in").click()
        if answer.value.status == 429:
            break
    assert answer.value.status == 429 and attempt == settings.AXES_FAILURE_LIMIT - 1
    expect(page.get_by_role("alert")).to_contain_text("Too many failed login attempts")
    expect(page).to_have_title("Too many login attempts · Mediaflow")
    page.get_by_role("link", name="Back to the login page").click()
    expect(page.get_by_label("Username")).to_be_visible()
