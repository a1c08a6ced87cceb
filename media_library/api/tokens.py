"""Per-user API tokens: the key is shown once; only its SHA-256 digest and a prefix are stored."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from media_library.models import ApiToken

KEY_PREFIX = "mf_"
LAST_USED_EVERY = timedelta(minutes=5)


def token_digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_token(user):
    """Create (or rotate: the old key stops working) the user's token; returns (token, raw key)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token, _created = ApiToken.objects.update_or_create(
        user=user,
        defaults={"digest": token_digest(key), "prefix": key[: len(KEY_PREFIX) + 5], "last_used": None},
    )
    return token, key


def revoke_api_token(user):
    ApiToken.objects.filter(user=user).delete()


def user_for_key(key):
    """The active user owning `key`, or None; records the use at most once per LAST_USED_EVERY."""
    if not key or len(key) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
    if token is None or not token.user.is_active:
        return None
    _touch(token)
    return token.user


def _touch(token):
    now = timezone.now()
    if token.last_used is None or now - token.last_used > LAST_USED_EVERY:
        # A write per request would serialise every API call on SQLite's write lock.
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
