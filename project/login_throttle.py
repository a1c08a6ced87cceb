"""Password guessing is throttled by django-axes (settings: AXES_*): after LOGIN_FAILURE_LIMIT
wrong passwords for one username from one client address, that pair is refused with a 429 for
LOGIN_COOLOFF_MINUTES, on /login/ and /admin/login/ alike (both go through authenticate()).

Two small pieces are the project's own:

- the client address: the TCP peer (REMOTE_ADDR) unless TRUSTED_PROXY_COUNT says how many reverse
  proxies stand in front; then the address the outermost of them appended to X-Forwarded-For.
  Addresses further left are whatever the client sent and never trusted.
- the 429 page, in the site's login card, saying for how long.
- a backend that lets an authenticate() without a request through unthrottled: only code calls
  it that way (the test client's login(), a management command); every login page passes one.
"""

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render


def client_address(request):
    """The address failures are counted against (AXES_CLIENT_IP_CALLABLE)."""
    peer = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return peer  # not through all the proxies: count it against the one that sent it
    return forwarded[-proxies]


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None  # no client to throttle; the next backend judges the password
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets (AXES_LOCKOUT_CALLABLE): 429, with how long to wait."""
    minutes = math.ceil(get_cool_off(request).total_seconds() / 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
