import pytest
from playwright.sync_api import expect

from media_library.maintenance import retention
from tests.support.screenshots import shoot

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_edits_purge_schedule_and_dashboard_shows_next_run(page, make_user, migrated_beat_rows):
    make_user("ops", password="a-long-password-1", is_staff=True, is_superuser=True)
    page.goto("/login/")
    page.get_by_label("Username").fill("ops")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#next-purge")).to_contain_text("03:00")

    crontab = retention.purge_schedule().crontab
    page.goto(f"/admin/django_celery_beat/crontabschedule/{crontab.pk}/change/")
    page.locator("#id_hour").fill("5")
    page.locator("#id_minute").fill("45")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto("/")
    expect(page.locator("#next-purge")).to_contain_text("05:45")
    shoot(page, "dashboard")  # the README's dashboard picture
