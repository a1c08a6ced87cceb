"""The file manager's pages and partials: status, ownership, CSRF, escaping, pagination, queries."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.support.page_rows import make_file, make_files, make_folder, trash

pytestmark = pytest.mark.django_db

HOSTILE_FILE = "<img src=x onerror=alert(1)>.jpg"
HOSTILE_FOLDER = '"><script>alert(1)</script>'
HOSTILE_QUERY = "'\"><svg onload=alert(1)>"


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def client_for():
    def make(user, **kwargs):
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def client(owner, client_for):
    return client_for(owner)


def htmx(**extra):
    return {"HTTP_HX_REQUEST": "true", **extra}


def file_ids_in(html):
    return [int(i) for i in re.findall(r'data-file-id="(\d+)"', html)]


def next_url_in(html):
    match = re.search(r'hx-get="([^"]*cursor=[^"]*)"', html)
    return unescape(match.group(1)) if match else None


# --- pages render, log-in required ---------------------------------------------------------------


def test_every_page_requires_login(owner):
    folder = make_folder(owner, "A")
    media = make_file(owner, "a.jpg", folder=folder)
    anonymous = Client()
    for url in [
        reverse("dashboard"),
        reverse("media_library:library"),
        reverse("media_library:folder", args=[folder.pk]),
        reverse("media_library:trash"),
        reverse("media_library:upload"),
        reverse("media_library:file_detail", args=[media.pk]),
        reverse("media_library:new_folder"),
        reverse("media_library:rename_folder", args=[folder.pk]),
    ]:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_folder_page_shows_layout_tree_breadcrumb_and_thumbnails(client, owner):
    parent = make_folder(owner, "Photos")
    folder = make_folder(owner, "2024", parent=parent)
    make_folder(owner, "Summer", parent=folder)
    media = make_file(owner, "beach.jpg", folder=folder)
    response = client.get(reverse("media_library:folder", args=[folder.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-label="Breadcrumb"' in html and ">Photos</a>" in html
    assert 'id="folder-tree"' in html and 'aria-current="page">2024</a>' in html
    assert f'src="/files/{media.pk}/thumb/256/"' in html and 'loading="lazy"' in html
    assert ">Summer</span>" in html  # the subfolder tile
    assert 'id="detail-panel"' in html and 'id="bulk-form"' in html
    for label in ["Move to…", "Copy to…", "Rename…", "Move to trash", "Regenerate thumbnails"]:
        assert label in html
    assert 'aria-label="Filter by name"' in html and 'aria-label="New folder"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html


def test_root_and_empty_states(client, owner):
    html = client.get(reverse("media_library:library")).content.decode()
    assert "This folder is empty." in html
    make_file(owner, "x.jpg")
    html = client.get(reverse("media_library:library"), {"q": "nothing-like-it"}).content.decode()
    assert "No files match" in html
    html = client.get(reverse("media_library:trash")).content.decode()
    assert "The trash is empty." in html


def test_listing_partial_for_htmx_and_grid_list_toggle(client, owner):
    make_file(owner, "one.jpg")
    url = reverse("media_library:library")
    full = client.get(url).content.decode()
    assert "<html" in full and "view-grid" in full
    partial = client.get(url, {"view": "list"}, **htmx(HTTP_HX_TARGET="listing")).content.decode()
    assert "<html" not in partial and "view-list" in partial and 'id="bulk-form"' in partial


def test_upload_page(client, owner):
    folder = make_folder(owner, "Inbox")
    html = client.get(reverse("media_library:upload"), {"folder": folder.pk}).content.decode()
    assert f'data-folder-id="{folder.pk}"' in html
    assert "webkitdirectory" in html and "data-file-input" in html and 'data-endpoint="/api/files/"' in html
    assert "js/upload.js" in html


def test_detail_panel(client, owner):
    folder = make_folder(owner, "Album")
    media = make_file(owner, "pic.png", folder=folder)
    response = client.get(reverse("media_library:file_detail", args=[media.pk]), **htmx())
    html = response.content.decode()
    assert response.status_code == 200
    assert f"/files/{media.pk}/thumb/1024/" in html and f"/files/{media.pk}/download/" in html
    assert media.blob.sha256 in html and "640 \u00d7 480" in html and "JPEG" in html and ">Album</a>" in html


# --- ownership ----------------------------------------------------------------------------------


def test_another_users_folder_file_and_selection_are_404(client, make_user):
    other = make_user("other")
    folder = make_folder(other, "Theirs")
    media = make_file(other, "secret.jpg", folder=folder)
    for url in [
        reverse("media_library:folder", args=[folder.pk]),
        reverse("media_library:file_detail", args=[media.pk]),
        reverse("media_library:rename_folder", args=[folder.pk]),
        reverse("media_library:move_folder", args=[folder.pk]),
        reverse("media_library:trash_folder", args=[folder.pk]),
        reverse("media_library:upload") + f"?folder={folder.pk}",
        reverse("media_library:new_folder") + f"?parent={folder.pk}",
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        reverse("media_library:rename_folder", args=[folder.pk]),
        reverse("media_library:trash_folder", args=[folder.pk]),
    ]:
        assert client.post(url, {"name": "mine now"}).status_code == 404, url
    assert (
        client.post(reverse("media_library:new_folder"), {"name": "x", "parent": folder.pk}).status_code
        == 404
    )
    post = {"action": "trash", "scope": "all", "folder_id": folder.pk}
    assert client.post(reverse("media_library:confirm_action"), post).status_code == 404
    assert client.post(reverse("media_library:submit_action"), post).status_code == 404
    # Another user's ids are dropped from a selection, never counted or revealed.
    response = client.post(
        reverse("media_library:confirm_action"), {"action": "trash", "file_ids": str(media.pk)}
    )
    assert 'data-count="0"' in response.content.decode()
    assert "secret.jpg" not in response.content.decode()


def test_move_target_must_be_mine(client, owner, make_user):
    theirs = make_folder(make_user("other"), "Theirs")
    media = make_file(owner, "a.jpg")
    data = {"action": "move", "file_ids": str(media.pk), "target_folder_id": theirs.pk}
    response = client.post(reverse("media_library:submit_action"), data, **htmx())
    assert response.status_code == 422
    assert "Choose a folder of your library." in response.content.decode()
    assert response["HX-Retarget"] == "#dialog-slot"


# --- CSRF -----------------------------------------------------------------------------------------


def test_csrf_is_enforced_on_every_post(owner, client_for):
    folder = make_folder(owner, "A")
    media = make_file(owner, "a.jpg", folder=folder)
    strict = client_for(owner, enforce_csrf_checks=True)
    posts = {
        reverse("media_library:new_folder"): {"name": "B"},
        reverse("media_library:rename_folder", args=[folder.pk]): {"name": "C"},
        reverse("media_library:move_folder", args=[folder.pk]): {"target_folder_id": ""},
        reverse("media_library:trash_folder", args=[folder.pk]): {},
        reverse("media_library:confirm_action"): {"action": "trash", "file_ids": str(media.pk)},
        reverse("media_library:submit_action"): {"action": "trash", "file_ids": str(media.pk)},
    }
    for url, data in posts.items():
        assert strict.post(url, data).status_code == 403, url
    # With the token (as htmx sends it from <body hx-headers>) the same POST gets through.
    html = strict.get(reverse("media_library:folder", args=[folder.pk])).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    response = strict.post(
        reverse("media_library:confirm_action"),
        posts[reverse("media_library:confirm_action")],
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200 and 'data-count="1"' in response.content.decode()


def test_state_changing_urls_refuse_get(client):
    assert client.get(reverse("media_library:confirm_action")).status_code == 405
    assert client.get(reverse("media_library:submit_action")).status_code == 405


# --- escaping -------------------------------------------------------------------------------------


def assert_escaped(html, *raw):
    for value in raw:
        assert value not in html
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html and "<svg onload" not in html


def test_hostile_names_are_escaped_everywhere(client, owner):
    folder = make_folder(owner, HOSTILE_FOLDER)
    child = make_folder(owner, HOSTILE_FOLDER + "2", parent=folder)
    media = make_file(owner, HOSTILE_FILE, folder=child)
    gone = make_file(owner, HOSTILE_FILE + ".png", folder=child)
    trash([gone])
    pages = [
        client.get(reverse("media_library:folder", args=[child.pk])),
        client.get(reverse("media_library:folder", args=[folder.pk])),
        client.get(reverse("media_library:folder", args=[child.pk]), {"q": HOSTILE_QUERY}),
        client.get(
            reverse("media_library:folder", args=[child.pk]),
            {"q": HOSTILE_QUERY},
            **htmx(HTTP_HX_TARGET="listing"),
        ),
        client.get(reverse("media_library:file_detail", args=[media.pk])),
        client.get(reverse("media_library:trash")),
        client.get(reverse("media_library:trash"), {"q": HOSTILE_QUERY}),
        client.get(reverse("media_library:upload"), {"folder": child.pk}),
        client.get(reverse("media_library:rename_folder", args=[child.pk])),
        client.get(reverse("media_library:move_folder", args=[child.pk])),
        client.get(reverse("media_library:trash_folder", args=[child.pk])),
        client.post(
            reverse("media_library:confirm_action"),
            {"action": "move", "file_ids": str(media.pk), "q": HOSTILE_QUERY},
        ),
        client.post(
            reverse("media_library:confirm_action"),
            {"action": "trash", "scope": "all", "folder_id": child.pk, "q": HOSTILE_QUERY},
        ),
    ]
    for response in pages:
        assert response.status_code == 200, response.request
        assert_escaped(response.content.decode(), HOSTILE_FILE, HOSTILE_FOLDER, HOSTILE_QUERY)
    page = pages[0].content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page  # shown, as text
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'aria-label="Select &lt;img src=x onerror=alert(1)&gt;.jpg"' in page  # inside an attribute too


# --- keyset pagination and query counts ---------------------------------------------------------------


def test_infinite_scroll_follows_cursors_to_the_end(client, owner):
    folder = make_folder(owner, "Many")
    make_files(owner, 250, folder=folder)
    response = client.get(reverse("media_library:folder", args=[folder.pk]), {"sort": "-size"})
    html = response.content.decode()
    seen = file_ids_in(html)
    assert len(seen) == 100 and 'hx-trigger="revealed"' in html and 'hx-swap="afterend"' in html
    url, pages = next_url_in(html), 1
    while url:
        rows = client.get(url, **htmx()).content.decode()
        assert "<html" not in rows and "bulk-form" not in rows  # just the next rows
        seen += file_ids_in(rows)
        url, pages = next_url_in(rows), pages + 1
    assert pages == 3 and len(seen) == len(set(seen)) == 250
    from media_library.models import MediaFile

    expected = list(
        MediaFile.objects.filter(folder=folder).order_by("-size", "-id").values_list("id", flat=True)
    )
    assert seen == expected


def test_bad_cursor_is_a_clear_400(client):
    response = client.get(reverse("media_library:library"), {"cursor": "not-a-cursor"})
    assert response.status_code == 400


def test_page_render_query_count_is_bounded_deep_or_shallow(client, owner, django_assert_max_num_queries):
    parent = make_folder(owner, "Top")
    folder = make_folder(owner, "Big", parent=parent)
    make_files(owner, 3000, folder=folder)
    url = reverse("media_library:folder", args=[folder.pk])
    with django_assert_max_num_queries(10):
        first = client.get(url)
    cursor_url = next_url_in(first.content.decode())
    for _ in range(20):  # walk to page 22
        cursor_url = next_url_in(client.get(cursor_url).content.decode())
    with django_assert_max_num_queries(4):  # session, user, the page of rows
        deep = client.get(cursor_url)
    assert len(file_ids_in(deep.content.decode())) == 100
    with django_assert_max_num_queries(10):
        client.get(reverse("media_library:trash"))


# --- trash ---------------------------------------------------------------------------------------------


def test_trash_shows_origin_and_days_left(client, owner, settings):
    settings.TRASH_RETENTION_DAYS = 30
    folder = make_folder(owner, "Holiday")
    a = make_file(owner, "a.jpg", folder=folder)
    b = make_file(owner, "b.jpg")
    trash([a], when=timezone.now() - timedelta(days=10, hours=1))
    trash([b], when=timezone.now() - timedelta(days=29, hours=23))
    html = client.get(reverse("media_library:trash")).content.decode()
    assert f'href="{reverse("media_library:folder", args=[folder.pk])}">Holiday</a>' in html
    assert "Deleted forever in 20 days" in html and "Deleted forever in 1 day" in html
    assert "Restore" in html and "Delete permanently" in html and "Empty trash" in html
    assert "Move to trash" not in html


# --- confirmation: the exact count, resolved on the server -----------------------------------------------


def test_confirmation_counts_folder_scope_with_the_active_filter(client, owner):
    folder = make_folder(owner, "Mixed")
    make_files(owner, 37, folder=folder, prefix="cat")
    make_files(owner, 5, folder=folder, prefix="dog")
    make_files(owner, 9, folder=None, prefix="dog")  # same names elsewhere: not in scope
    data = {"action": "trash", "scope": "all", "folder_id": folder.pk, "q": "dog"}
    html = client.post(reverse("media_library:confirm_action"), data, **htmx()).content.decode()
    assert 'data-count="5"' in html and "Move 5 files to the trash?" in html
    assert "Only the files whose name contains “dog”." in html
    assert 'name="q" value="dog"' in html and 'name="scope" value="all"' in html  # carried to the submit
    data.pop("q")
    html = client.post(reverse("media_library:confirm_action"), data).content.decode()
    assert 'data-count="42"' in html


def test_confirmation_for_ticked_ids_and_for_the_trash(client, owner):
    files = [make_file(owner, f"f{i}.jpg") for i in range(4)]
    ids = ",".join(str(f.pk) for f in files[:3])
    html = client.post(
        reverse("media_library:confirm_action"), {"action": "copy", "file_ids": ids}
    ).content.decode()
    assert 'data-count="3"' in html and 'name="target_folder_id"' in html and "Library (top level)" in html
    html = client.post(
        reverse("media_library:confirm_action"), {"action": "rename", "file_ids": ids}
    ).content.decode()
    assert 'name="pattern"' in html and "{n:03}" in html
    # Restore only counts trashed files; empty trash counts the whole trash whatever is ticked.
    assert (
        'data-count="0"'
        in client.post(
            reverse("media_library:confirm_action"), {"action": "restore", "file_ids": ids}
        ).content.decode()
    )
    trash(files[:2])
    html = client.post(
        reverse("media_library:confirm_action"), {"action": "empty_trash", "in_trash": "1"}
    ).content.decode()
    assert 'data-count="2"' in html and "cannot be undone" in html


def test_invalid_action_input_gets_a_clear_error(client, owner):
    media, other = make_file(owner, "a.jpg"), make_file(owner, "b.jpg")
    url = reverse("media_library:submit_action")
    cases = [
        ({"action": "explode", "file_ids": str(media.pk)}, "Unknown action."),
        ({"action": "trash", "file_ids": "1,two"}, "The selection is not valid."),
        ({"action": "trash", "file_ids": "99999999999999999999"}, "The selection is not valid."),
        ({"action": "trash", "file_ids": ""}, "No files selected."),
        ({"action": "rename", "file_ids": str(media.pk), "pattern": ""}, "Enter a name pattern"),
        (
            {"action": "rename", "file_ids": f"{media.pk},{other.pk}", "pattern": "same.jpg"},
            "every file gets the same name",  # one ticked file may be renamed to exactly a name
        ),
        (
            {"action": "rename", "file_ids": str(media.pk), "pattern": "{n:zz}{ext}"},
            "{n} takes only a zero-padded width",
        ),
    ]
    for data, message in cases:
        response = client.post(url, data, **htmx())
        assert response.status_code == 422, data
        assert message in unescape(response.content.decode()), data


def test_a_big_ticked_selection_is_one_form_field(client, owner):
    """5,000 ticked ids travel as one comma-separated field (Django refuses > 1,000 fields)."""
    make_files(owner, 5000)
    from media_library.models import MediaFile

    ids = ",".join(str(pk) for pk in MediaFile.objects.filter(owner=owner).values_list("id", flat=True))
    response = client.post(reverse("media_library:confirm_action"), {"action": "trash", "file_ids": ids})
    assert response.status_code == 200 and 'data-count="5000"' in response.content.decode()
    too_many = ",".join(str(n) for n in range(1, 10_002))
    response = client.post(
        reverse("media_library:confirm_action"), {"action": "trash", "file_ids": too_many}, **htmx()
    )
    assert response.status_code == 422 and "Select all in this folder" in response.content.decode()
