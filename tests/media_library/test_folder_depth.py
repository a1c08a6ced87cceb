"""One depth cap for folders (MAX_FOLDER_DEPTH), everywhere a folder is made or moved, and a tree
that renders at any depth (the cap may be lowered later; older libraries may be deeper)."""

import json
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from media_library.folders import MAX_FOLDER_DEPTH, FolderTooDeep, ensure_folder_path, move_folder
from media_library.models import Folder, MediaFile
from tests.support import images
from tests.support.multipart import post_files
from tests.support.page_rows import make_folder

pytestmark = pytest.mark.django_db

TOO_DEEP = f"Folders can be nested at most {MAX_FOLDER_DEPTH} levels deep."


@pytest.fixture
def owner(make_user):
    return make_user("deep")


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


def chain(owner, levels, parent=None, prefix="level"):
    """`levels` nested folders written straight to the database (no cap applies); the deepest."""
    for n in range(levels):
        parent = make_folder(owner, f"{prefix} {n + 1}", parent=parent)
    return parent


class TreeDepth(HTMLParser):
    """How many lists enclose each tree link, from the page's real markup."""

    def __init__(self):
        super().__init__()
        self.open_lists, self.depth_of = 0, {}

    def handle_starttag(self, tag, attrs):
        if tag == "ul":
            self.open_lists += 1
        attrs = dict(attrs)
        if tag == "a" and "tree-link" in (attrs.get("class") or ""):
            self.depth_of[attrs["data-drop-folder"]] = self.open_lists

    def handle_endtag(self, tag):
        if tag == "ul":
            self.open_lists -= 1


def test_a_tree_200_levels_deep_renders_nested_without_recursion(client, owner):
    deepest = chain(owner, 200)
    sibling = make_folder(owner, "sibling", parent=deepest.parent)
    response = client.get(reverse("media_library:folder", args=[deepest.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page">level 200</a>' in html
    tree = TreeDepth()
    tree.feed(html)
    assert tree.open_lists == 0  # every list the tree opened is closed
    ids = [int(part) for part in deepest.path.strip("/").split("/")]
    # The tree's own list, then one group per level: "level n" sits n + 1 lists deep.
    assert [tree.depth_of[str(pk)] for pk in ids] == list(range(2, 202))
    assert tree.depth_of[str(sibling.pk)] == tree.depth_of[str(deepest.pk)]


def test_the_api_refuses_a_folder_past_the_cap_with_a_400(owner):
    client = Client()
    client.force_login(owner)
    last_level = chain(owner, MAX_FOLDER_DEPTH)
    url = "/api/folders/"
    response = client.post(url, {"name": "x", "parent_id": last_level.pk}, content_type="application/json")
    assert response.status_code == 400 and response.json() == {"error": TOO_DEEP}
    assert not Folder.objects.filter(parent=last_level).exists()
    fits = client.post(url, {"name": "x", "parent_id": last_level.parent_id}, content_type="application/json")
    assert fits.status_code == 201 and fits.json()["depth"] == MAX_FOLDER_DEPTH - 1


def test_the_new_folder_form_shows_the_cap(client, owner):
    last_level = chain(owner, MAX_FOLDER_DEPTH)
    response = client.post(reverse("media_library:new_folder"), {"name": "x", "parent": last_level.pk})
    assert response.status_code == 422 and TOO_DEEP in response.content.decode()
    assert not Folder.objects.filter(parent=last_level).exists()


def test_two_nested_folder_uploads_stop_at_the_cap(client, owner):
    top = make_folder(owner, "Top")
    path = "/".join(f"d{n}" for n in range(MAX_FOLDER_DEPTH - 1)) + "/a.jpg"  # the last level
    first = post_files(
        client, "/api/files/", [("a.jpg", images.jpeg_bytes(seed=1))],
        fields=[("folder_id", top.pk), ("relative_path", path)],
    )  # fmt: skip
    assert first.status_code == 201 and first.json()["errors"] == [], first.content
    deepest = MediaFile.objects.get(pk=first.json()["files"][0]["id"]).folder
    assert deepest.depth == MAX_FOLDER_DEPTH - 1
    folders = Folder.objects.count()
    again = post_files(
        client, "/api/files/", [("b.jpg", images.jpeg_bytes(seed=2)), ("c.jpg", images.jpeg_bytes(seed=3))],
        fields=[("folder_id", deepest.pk), ("relative_path", "more/b.jpg"), ("relative_path", "c.jpg")],
    )  # fmt: skip
    body = again.json()
    assert again.status_code == 201
    assert body["errors"] == [{"index": 0, "name": "b.jpg", "error": TOO_DEEP}]
    assert [item["folder_id"] for item in body["files"]] == [deepest.pk]  # no path: stored as asked
    assert Folder.objects.count() == folders


def test_a_folder_cannot_be_moved_where_its_subtree_would_pass_the_cap(client, owner):
    target = chain(owner, MAX_FOLDER_DEPTH - 2)  # two levels of room below it
    moved = make_folder(owner, "Moved")
    inner = make_folder(owner, "Inner", parent=make_folder(owner, "Middle", parent=moved))
    with pytest.raises(FolderTooDeep):
        move_folder(owner.pk, moved.pk, target.pk)  # Moved/Middle/Inner needs three
    response = client.post(
        reverse("media_library:move_folder", args=[moved.pk]), {"target_folder_id": target.pk}
    )
    assert response.status_code == 422 and TOO_DEEP in response.content.decode()
    assert Folder.objects.get(pk=moved.pk).parent_id is None
    inner.delete()
    assert move_folder(owner.pk, moved.pk, target.pk).depth == MAX_FOLDER_DEPTH - 2


def test_restoring_a_chain_deeper_than_the_cap_stops_at_the_cap(owner):
    restored = ensure_folder_path(owner.pk, None, [f"n{n}" for n in range(MAX_FOLDER_DEPTH + 8)])
    assert restored.depth == MAX_FOLDER_DEPTH - 1 and restored.name == f"n{MAX_FOLDER_DEPTH - 1}"


def test_the_upload_documents_the_cap(client):
    schema = json.loads(client.get("/api/openapi.json").content)
    described = json.dumps(schema)
    assert f"at most {MAX_FOLDER_DEPTH} levels deep" in described
