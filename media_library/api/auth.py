"""How the JSON API knows the caller: a Bearer token, or the browser session (with CSRF).

Both answer with the User, so every endpoint reads the caller as `request.auth`. The order
matters: a request carrying `Authorization: Bearer …` is judged by its token alone (a wrong token
is a 401, it never falls back to a session), and needs no CSRF token since a browser never adds
that header by itself. Session requests keep Django's CSRF check on unsafe
methods; a request with neither is a 401 (not a CSRF 403).
"""

from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from media_library.api.tokens import user_for_key


def bearer_key(request):
    """The key of an `Authorization: Bearer <key>` header, or None when there is no such header."""
    scheme, _space, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip()


def user_from_bearer(request):
    """The user of a valid Bearer token, None if no Bearer header; raises on a bad token."""
    key = bearer_key(request)
    if key is None:
        return None
    user = user_for_key(key)
    if user is None:
        raise AuthenticationError()
    return user


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer <key>` with a key from `manage.py create_api_token`."""

    def __call__(self, request):
        return user_from_bearer(request)

    def authenticate(self, request, token):  # required by HttpBearer; __call__ does the work
        return user_for_key(token)


class LoggedInSession(SessionAuth):
    """Django's session, with ninja's CSRF check only for callers who are logged in.

    Anonymous requests then get a plain 401 instead of "CSRF check failed".
    """

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


api_auth = [BearerTokenAuth(), LoggedInSession()]
