"""Password guessing is throttled per (username, client address): after LOGIN_FAILURE_LIMIT wrong
passwords that pair gets a 429 page saying so, even with the right password, until the cool-off
has passed; other usernames and other addresses log in as usual. Both login pages, and the real
web server (daphne, the ASGI path of the middleware)."""

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import timezone

from project.login_throttle import client_address

PASSWORD = "a-long-password-1"
LOCKED = "Too many failed login attempts"


def post_login(client, username, password, path="/login/", address="127.0.0.1", **headers):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def logged_in(response):
    return response.status_code == 302 and "login" not in response["Location"]


def guess_until_locked(client, username, path="/login/", **kwargs):
    """Wrong passwords until the 429; returns how many answers were plain 'wrong password' pages."""
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        response = post_login(client, username, f"guess-{attempt}", path, **kwargs)
        if response.status_code == 429:
            return attempt, response
        assert response.status_code == 200, response.status_code
    raise AssertionError(f"no 429 after {settings.AXES_FAILURE_LIMIT} wrong passwords")


@pytest.mark.django_db
def test_guessing_locks_that_username_from_that_address_until_the_cool_off(make_user):
    make_user("dana", password=PASSWORD)
    make_user("erin", password=PASSWORD)
    client = Client()
    wrong_pages, locked = guess_until_locked(client, "dana")
    assert wrong_pages == settings.AXES_FAILURE_LIMIT - 1  # the limit-th wrong password is refused
    page = locked.content.decode()
    assert LOCKED in page and "15 minutes" in page and 'class="login-card"' in page

    refused = post_login(client, "dana", PASSWORD)  # the right password does not help now
    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    assert client.get("/").status_code == 302  # not logged in

    assert logged_in(post_login(Client(), "erin", PASSWORD))  # another user, same address
    assert logged_in(post_login(Client(), "dana", PASSWORD, address="10.1.2.3"))  # same user, elsewhere

    # The cool-off passes (the failures age beyond LOGIN_COOLOFF_MINUTES): dana gets in again.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert logged_in(post_login(client, "dana", PASSWORD))
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_admin_login_is_throttled_the_same_way(make_user):
    make_user("olga", password=PASSWORD, is_staff=True)
    client = Client()
    _wrong, locked = guess_until_locked(client, "olga", path="/admin/login/")
    assert LOCKED in locked.content.decode()
    assert post_login(client, "olga", PASSWORD, path="/admin/login/").status_code == 429
    assert client.get("/admin/").status_code == 302  # still sent to the login page
    # One login page's lockout is the other's too: it is the same (username, address).
    assert post_login(client, "olga", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_does_not_escape_the_count(make_user):
    make_user("fay", password=PASSWORD)
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        post_login(client, "fay", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}")
    assert post_login(client, "fay", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429


def test_the_client_address_is_the_peer_unless_trusted_proxies_are_declared(settings):
    request = RequestFactory().post(
        "/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    assert client_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1  # one proxy that appends the address it saw
    assert client_address(request) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: the sender is not a proxy
    assert client_address(request) == "10.0.0.2"


@pytest.mark.django_db
def test_the_test_clients_login_and_force_login_keep_working(make_user):
    user = make_user("tess", password=PASSWORD)
    assert Client().login(username="tess", password=PASSWORD)
    assert not Client().login(username="tess", password="wrong")
    forced = Client()
    forced.force_login(user)
    assert forced.get("/").status_code == 200


class Browser:
    """Cookies and CSRF over plain HTTP against the live server."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(base_url + "/login/", timeout=20).close()  # the CSRF cookie

    def log_in(self, username, password):
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        fields = {"username": username, "password": password, "csrfmiddlewaretoken": token}
        request = urllib.request.Request(
            self.base_url + "/login/", data=urllib.parse.urlencode(fields).encode(),
            headers={"Referer": self.base_url + "/login/"},
        )  # fmt: skip
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_the_web_server_answers_429_to_guessing(live_server_url, make_user):
    make_user("gina", password=PASSWORD)
    make_user("hugo", password=PASSWORD)
    browser = Browser(live_server_url)
    answers = [browser.log_in("gina", f"guess-{n}")[0] for n in range(settings.AXES_FAILURE_LIMIT)]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    status, _url, page = browser.log_in("gina", PASSWORD)
    assert status == 429 and LOCKED in page
    status, url, page = Browser(live_server_url).log_in("hugo", PASSWORD)
    assert status == 200 and url.endswith("/") and "Dashboard" in page
