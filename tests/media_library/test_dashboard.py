"""The dashboard: a summary of the user's own library, links into it, and trash retention."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.support.page_rows import make_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_user):
    return make_user("owner")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client(owner):
    return logged_in(owner)


def test_dashboard_links_into_the_file_manager(client, owner):
    make_file(owner, "a.jpg")
    make_file(owner, "b.jpg", trashed_at=timezone.now())
    html = client.get("/").content.decode()
    assert 'id="dashboard-title">Dashboard<' in html and "Welcome, owner." in html
    assert reverse("media_library:library") in html and reverse("media_library:trash") in html


@pytest.mark.services  # the purge's single-run lock lives in Redis
def test_dashboard_shows_purge_counts_of_all_users_to_staff_only(client, owner, make_user):
    """The last purge counts every owner's files: a regular user sees the schedule and their own trash."""
    from media_library.maintenance import retention, single_run

    bob = make_user("bob")
    for n in range(3):
        make_file(bob, f"old{n}.jpg", trashed_at=timezone.now() - timedelta(days=90))
    mine = make_file(owner, "mine.jpg", trashed_at=timezone.now() - timedelta(days=2))
    single_run.clear(retention.PURGE_LOCK)
    try:
        outcome = retention.start_purge(triggered_by="test")  # a purge job over bob's 3 files
    finally:
        single_run.clear(retention.PURGE_LOCK)
    assert outcome["files"] == 3

    html = client.get(reverse("dashboard")).content.decode()
    assert 'id="maintenance"' in html and "deleted forever after 30 days" in html
    assert 'id="last-purge"' not in html and "of 3 files" not in html
    expiry = timezone.localtime(retention.purge_date(mine.trashed_at)).strftime("%Y-%m-%d")
    assert "The oldest file goes on <time" in html and expiry in html
    staff_html = logged_in(make_user("ops", is_staff=True)).get(reverse("dashboard")).content.decode()
    assert 'id="last-purge"' in staff_html and "of 3 files" in staff_html
