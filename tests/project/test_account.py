"""The API token page: a key made in the browser works on the API once, and revoking ends it."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_create_use_rotate_and_revoke_a_token_from_the_account_page(make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("kim"))
    page = client.get("/account/token/")
    assert b"You have no API token" in page.content
    csrf = client.cookies["csrftoken"].value

    created = client.post("/account/token/", {"action": "create", "csrfmiddlewaretoken": csrf})
    assert created["Cache-Control"] == "no-store"
    key = re.search(rb'id="api-token-key">([^<]+)<', created.content).group(1).decode()
    api = Client()
    assert api.get("/api/folders/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert key.encode() not in client.get("/account/token/").content  # shown once only

    client.post("/account/token/", {"action": "rotate", "csrfmiddlewaretoken": csrf})
    assert api.get("/api/folders/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    client.post("/account/token/", {"action": "revoke", "csrfmiddlewaretoken": csrf})
    assert b"You have no API token" in client.get("/account/token/").content


def test_the_page_needs_a_login():
    assert Client().get("/account/token/").status_code == 302
