"""Keyset cursors for names of any script: every page through the API and through infinite scroll.

Our users name files in Korean: 250 files with 200-character Korean names, walked to the end in
every sort order, in a folder and in the trash, must come back each exactly once, in order.
"""

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from media_library.folders import MAX_ID, create_folder
from media_library.listing import FOLDER_SORTS, MAX_CURSOR_LENGTH, TRASH_SORTS, decode_cursor, encode_cursor
from media_library.models import MediaFile
from media_library.operations import trash
from tests.support.library_rows import make_files

pytestmark = pytest.mark.django_db

HANGUL = 0xAC00  # 가; the Hangul syllables block has 11,172 characters


def korean_name(i, length=200):
    """A distinct name of exactly `length` characters, mostly Hangul syllables."""
    stem = "".join(chr(HANGUL + (i * 131 + k * 37) % 11_172) for k in range(length - 10))
    return f"{stem}-{i:05d}.jpg"


@pytest.fixture
def korean_folder(make_user):
    owner = make_user()
    folder = create_folder(owner.pk, None, "사진")
    files = make_files(owner, folder=folder, names=[korean_name(i) for i in range(250)])
    # Ties on every sort key: the id breaks them.
    MediaFile.objects.filter(pk__in=[f.pk for f in files[::3]]).update(size=7)
    assert all(len(f.name) == 200 for f in files)
    return owner, folder


def in_order(files, sort):
    key = {"trashed": "trashed_at"}.get(sort.lstrip("-"), sort.lstrip("-"))
    order = (f"-{key}", "-id") if sort.startswith("-") else (key, "id")
    return list(files.order_by(*order).values_list("id", flat=True))


def walk_api(client, **params):
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(
            "/api/files/", {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        seen += [f["id"] for f in body["files"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert len(cursor) <= MAX_CURSOR_LENGTH


def walk_page(client, url, sort):
    html = client.get(url, {"sort": sort}).content.decode()
    seen, pages = [int(i) for i in re.findall(r'data-file-id="(\d+)"', html)], 1
    while match := re.search(r'hx-get="([^"]*cursor=[^"]*)"', html):
        response = client.get(unescape(match.group(1)), HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.content[:300]
        html = response.content.decode()
        seen += [int(i) for i in re.findall(r'data-file-id="(\d+)"', html)]
        pages += 1
    return seen, pages


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("sort", FOLDER_SORTS)
def test_korean_folder_pages_to_the_end_through_the_api_and_infinite_scroll(korean_folder, sort):
    owner, folder = korean_folder
    client = logged_in(owner)
    expected = in_order(MediaFile.objects.filter(folder=folder), sort)
    assert walk_api(client, folder_id=folder.pk, sort=sort) == (expected, 3)
    assert walk_page(client, reverse("media_library:folder", args=[folder.pk]), sort) == (expected, 3)


@pytest.mark.parametrize("sort", TRASH_SORTS)
def test_korean_trash_pages_to_the_end_through_the_api_and_infinite_scroll(korean_folder, sort):
    owner, folder = korean_folder
    ids = list(MediaFile.objects.filter(folder=folder).values_list("id", flat=True))
    trash(owner.pk, ids[:120])
    trash(owner.pk, ids[120:])  # two trash times: ties on trashed_at within each batch
    client = logged_in(owner)
    expected = in_order(MediaFile.objects.filter(pk__in=ids), sort)
    assert walk_api(client, trashed="true", sort=sort) == (expected, 3)
    assert walk_page(client, reverse("media_library:trash"), sort) == (expected, 3)


def test_the_longest_name_of_the_widest_characters_makes_a_cursor_the_api_accepts(make_user):
    """255 characters of 4-byte UTF-8 (emoji), quotes that JSON escapes, the largest id."""
    widest = "😀" * 200 + '"' * 51 + ".jpg"
    assert len(widest) == 255
    row = MediaFile(id=MAX_ID, name=widest)
    for sort in ("name", "-name"):
        cursor = encode_cursor(sort, row)
        assert len(cursor) <= MAX_CURSOR_LENGTH
        assert decode_cursor(sort, cursor) == (widest, MAX_ID)
    owner = make_user()
    folder = create_folder(owner.pk, None, "Emoji")
    make_files(owner, folder=folder, names=[widest, "😀" * 251 + ".png", "a.jpg"])
    client = logged_in(owner)
    for sort in ("name", "-name"):
        expected = in_order(MediaFile.objects.filter(folder=folder), sort)
        seen, cursor = [], None
        while True:
            params = {
                "folder_id": folder.pk,
                "sort": sort,
                "limit": 1,
                **({"cursor": cursor} if cursor else {}),
            }
            body = client.get("/api/files/", params).json()
            seen += [f["id"] for f in body["files"]]
            if not (cursor := body["next_cursor"]):
                break
        assert seen == expected


def tampered(payload):
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("created", "0001-01-01T00:00+14:00"),  # a date with no UTC value
        ("-created", "9999-12-31T23:59-14:00"),
        ("size", 2**64),  # beyond what a BIGINT holds
        ("size", True),
        ("name", None),
    ],
)
def test_a_tampered_cursor_is_a_400_not_a_500(make_user, sort, value):
    owner = make_user()
    make_files(owner, 3)
    client = logged_in(owner)
    cursor = tampered({"s": sort, "v": value, "id": 1})
    response = client.get("/api/files/", {"sort": sort, "cursor": cursor})
    assert response.status_code == 400 and response.json() == {"error": "Invalid cursor."}
    response = client.get(reverse("media_library:library"), {"sort": sort, "cursor": cursor})
    assert response.status_code == 400 and b"not valid" in response.content
    response = client.get(
        "/api/files/", {"sort": "name", "cursor": tampered({"s": "name", "v": "a", "id": 2**70})}
    )
    assert response.status_code == 400
