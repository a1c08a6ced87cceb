"""Whether a request's credentials belong to a logged-in user, asked by the web server before it
accepts a body bigger than an anonymous request may send (project.web_server).

A cookie *named* like the session cookie or any `Bearer` header is not enough: a made-up one
would let anyone stream up to MAX_REQUEST_BYTES to the disk. The check is one lookup: the API
token's digest, or the session row and its active user.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.db import close_old_connections
from django.utils.module_loading import import_string

from media_library.api.tokens import user_for_key

BEARER = b"bearer "


def presented_credentials(session_cookie, authorization):
    """(session key, API key) from the raw cookie value and Authorization header, each or None."""
    key = None
    if authorization and authorization[: len(BEARER)].lower() == BEARER:
        key = authorization[len(BEARER) :].strip().decode("latin-1")
    session_key = session_cookie.decode("latin-1") if session_cookie else None
    return session_key, key or None


def session_user_is_active(session_key):
    """The session exists, unexpired, and names an active user.

    Read only: unlike `django.contrib.auth.get_user` it never flushes or cycles the session (this
    runs outside any response that could send a new cookie). Django checks the password hash
    when it handles the request itself.
    """
    if len(session_key) > 100:  # Django's keys have 32 characters
        return False
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(session_key)
    user_id = store.get(SESSION_KEY)
    if user_id is None:
        return False
    return get_user_model()._default_manager.filter(pk=user_id, is_active=True).exists()


def credentials_are_valid(session_key, api_key):
    close_old_connections()  # this thread serves no request: drop a connection past its age
    try:
        if api_key is not None and user_for_key(api_key) is not None:
            return True
        return bool(session_key) and session_user_is_active(session_key)
    finally:
        close_old_connections()


# Off the event loop, in parallel (each lookup is independent of any request's thread).
check_credentials = sync_to_async(credentials_are_valid, thread_sensitive=False)
