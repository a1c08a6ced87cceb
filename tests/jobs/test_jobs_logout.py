"""An open jobs socket stops receiving a user's job events once that session logs out (or its
session is gone), on the real daphne server; the user's other sessions go on receiving."""

import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from websockets.exceptions import ConnectionClosed

from devtools.job_cards import cards
from devtools.websocket import open_socket
from jobs.progress import publish_job
from tests.support.chunks import handed_out

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-password-1"


class Browser:
    """Cookies and CSRF over plain HTTP against the live server, like a browser tab."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name):
        return next((c.value for c in self.jar if c.name == name), None)

    def get(self, path):
        with self.opener.open(self.base_url + path, timeout=20) as response:
            return response.read().decode()

    def post(self, path, fields):
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.cookie("csrftoken")}).encode()
        request = urllib.request.Request(self.base_url + path, data=data, headers={"Referer": self.base_url})
        with self.opener.open(request, timeout=20) as response:
            return response.status

    def log_in(self, username):
        self.get("/login/")
        self.post("/login/", {"username": username, "password": PASSWORD})
        return self.cookie(settings.SESSION_COOKIE_NAME)


def job_cards_until_closed(socket, job_id, deadline):
    """Publish the job's card again and again until the socket closes; the cards it still got."""
    got = []
    while time.monotonic() < deadline:
        publish_job(job_id, force=True)
        try:
            got += [card for card, _attrs in cards(socket.recv(timeout=0.5)) if card == str(job_id)]
        except TimeoutError:
            continue
        except ConnectionClosed:
            return got, socket.close_code
    raise AssertionError(f"the socket stayed open; it received {len(got)} more card(s)")


def test_logging_out_closes_that_sessions_sockets_only(live_server_url, make_user, test_kinds):
    user = make_user("logan", password=PASSWORD)
    tab, other_device = Browser(live_server_url), Browser(live_server_url)
    tab_session, other_session = tab.log_in("logan"), other_device.log_in("logan")
    assert tab_session and other_session and tab_session != other_session
    with (
        open_socket(live_server_url, tab_session) as socket,
        open_socket(live_server_url, other_session) as other,
    ):
        job = handed_out(user, range(1, 11))  # a job whose card we can publish at will
        publish_job(job.pk, force=True)
        assert str(job.pk) in dict(cards(socket.recv(timeout=10)))  # both follow the user's jobs
        assert str(job.pk) in dict(cards(other.recv(timeout=10)))

        assert tab.post("/logout/", {}) == 200  # (redirected to the login page)
        with pytest.raises(ConnectionClosed):
            while True:  # the logout closes this session's socket right away
                socket.recv(timeout=10)
        assert socket.close_code == 4401

        publish_job(job.pk, force=True)
        assert str(job.pk) in dict(cards(other.recv(timeout=10)))  # the other session goes on
        assert not Session.objects.filter(session_key=tab_session).exists()

        # A session that ends without a logout (expired, deleted by an admin) stops too: the
        # socket checks its session again while events flow.
        Session.objects.filter(session_key=other_session).delete()
        _late_cards, code = job_cards_until_closed(other, job.pk, time.monotonic() + 30)
        assert code == 4401


def test_a_logged_out_cookie_cannot_open_a_socket(live_server_url, make_user):
    make_user("lou", password=PASSWORD)
    tab = Browser(live_server_url)
    session = tab.log_in("lou")
    tab.post("/logout/", {})
    with pytest.raises(Exception, match=re.escape("403")):
        open_socket(live_server_url, session)
