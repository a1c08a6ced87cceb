import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from media_library.api.tokens import create_api_token, revoke_api_token, token_digest
from media_library.models import ApiToken

pytestmark = pytest.mark.django_db


def test_command_prints_a_key_that_authenticates(make_user):
    user = make_user("scripter")
    out = io.StringIO()
    call_command("create_api_token", "scripter", stdout=out)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=user)
    assert token.digest == token_digest(key) and key.startswith(token.prefix)
    assert key not in {token.digest, token.prefix}  # the key itself is never stored
    response = Client().get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content
    token.refresh_from_db()
    assert token.last_used is not None


def test_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "nobody", stdout=io.StringIO())


def test_rotation_revocation_and_inactive_users(make_user):
    user = make_user()
    _token, old_key = create_api_token(user)
    _token, new_key = create_api_token(user)
    assert old_key != new_key
    client = Client()
    assert client.get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {old_key}").status_code == 401
    assert client.get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {new_key}").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {new_key}").status_code == 401
    user.is_active = True
    user.save()
    revoke_api_token(user)
    assert client.get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {new_key}").status_code == 401


def test_last_used_is_written_sparingly(make_user):
    user = make_user()
    _token, key = create_api_token(user)
    client = Client()
    client.get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {key}")
    first = ApiToken.objects.get(user=user).last_used
    client.get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ApiToken.objects.get(user=user).last_used == first  # no write per request
    ApiToken.objects.filter(user=user).update(last_used=timezone.now() - timedelta(hours=1))
    client.get("/api/files/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ApiToken.objects.get(user=user).last_used >= first  # an hour-old stamp is refreshed


def test_token_works_on_every_api_route_and_sets_the_user(make_user):
    user = make_user()
    _token, key = create_api_token(user)
    client = Client(enforce_csrf_checks=True)
    created = client.post(
        "/api/folders/",
        {"name": "Scripts"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert created.status_code == 201
    listed = client.get("/api/folders/", HTTP_AUTHORIZATION=f"bearer {key}")  # the scheme is case-insensitive
    assert [f["name"] for f in listed.json()["folders"]] == ["Scripts"]
