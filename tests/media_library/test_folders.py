"""Folder services: names, subtree moves by materialised path, trash of a subtree, ownership."""

import pytest

from media_library.folders import (
    FolderError,
    create_folder,
    ensure_folder_path,
    move_folder,
    rename_folder,
    trash_folder,
)
from media_library.listing import breadcrumb
from media_library.models import Folder, MediaFile
from tests.support.library_rows import make_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def tree(owner):
    """{name: (parent name, path as names, depth)} — paths checked against the real parent chain."""
    folders = {f.pk: f for f in Folder.objects.filter(owner=owner)}
    result = {}
    for folder in folders.values():
        chain, node = [], folder
        while node is not None:
            chain.append(node.pk)
            node = folders.get(node.parent_id)
        assert folder.path == "/" + "".join(f"{pk}/" for pk in reversed(chain)), folder.name
        assert folder.depth == len(chain) - 1
        result[folder.name] = folders[folder.parent_id].name if folder.parent_id else None
    return result


def test_create_and_rename_deconflict_among_siblings(alice, make_user):
    first = create_folder(alice.pk, None, "Trips")
    second = create_folder(alice.pk, None, " Trips ")
    assert (first.name, second.name) == ("Trips", "Trips (2)")
    assert create_folder(make_user("bob").pk, None, "Trips").name == "Trips"  # per owner
    inner = create_folder(alice.pk, first.pk, "Trips")
    assert inner.name == "Trips" and inner.path == f"/{first.pk}/{inner.pk}/"
    assert rename_folder(alice.pk, second.pk, "Trips").name == "Trips (2)"  # itself is not a clash
    assert rename_folder(alice.pk, second.pk, "../Other").name == "Other"


def test_move_folder_moves_the_whole_subtree_in_bounded_queries(alice, django_assert_max_num_queries):
    a = create_folder(alice.pk, None, "A")
    b = create_folder(alice.pk, a.pk, "B")
    node = b
    for depth in range(30):  # a deep chain under B
        node = create_folder(alice.pk, node.pk, f"level{depth}")
    target = create_folder(alice.pk, None, "Target")
    create_folder(alice.pk, target.pk, "B")  # a sibling with the same name waits there
    with django_assert_max_num_queries(8):
        moved = move_folder(alice.pk, b.pk, target.pk)
    assert moved.name == "B (2)"
    parents = tree(alice)
    assert parents["B (2)"] == "Target" and parents["level29"] == "level28"
    assert Folder.objects.get(name="level29").depth == 31
    assert move_folder(alice.pk, b.pk, target.pk).name == "B (2)"  # twice: a no-op
    move_folder(alice.pk, b.pk, None)
    assert tree(alice)["B (2)"] is None


def test_move_folder_into_itself_or_descendant_is_refused(alice, make_user):
    a = create_folder(alice.pk, None, "A")
    child = create_folder(alice.pk, a.pk, "child")
    with pytest.raises(FolderError, match="into itself"):
        move_folder(alice.pk, a.pk, child.pk)
    with pytest.raises(FolderError, match="into itself"):
        move_folder(alice.pk, a.pk, a.pk)
    bobs = create_folder(make_user("bob").pk, None, "B")
    with pytest.raises(FolderError, match="not found"):
        move_folder(alice.pk, a.pk, bobs.pk)
    with pytest.raises(FolderError, match="not found"):
        move_folder(alice.pk, bobs.pk, None)


def test_trash_folder_trashes_subtree_files_and_deletes_folders(alice, django_assert_max_num_queries):
    a = create_folder(alice.pk, None, "A")
    b = create_folder(alice.pk, a.pk, "B")
    keep = create_folder(alice.pk, None, "Keep")
    make_files(alice, 300, folder=a)
    make_files(alice, 200, folder=b)
    kept = make_files(alice, 5, folder=keep)
    with django_assert_max_num_queries(15):  # constant: Django's delete bookkeeping included
        assert trash_folder(alice.pk, a.pk) == 500
    assert list(Folder.objects.filter(owner=alice).values_list("name", flat=True)) == ["Keep"]
    trashed = MediaFile.objects.filter(owner=alice, trashed_at__isnull=False)
    assert trashed.count() == 500
    assert set(trashed.values_list("trashed_from_path", flat=True)) == {'["A"]', '["A", "B"]'}
    assert MediaFile.objects.filter(pk__in=[f.pk for f in kept], trashed_at__isnull=True).count() == 5


def test_ensure_folder_path_reuses_and_creates(alice):
    a = create_folder(alice.pk, None, "a")
    c = ensure_folder_path(alice.pk, None, ["a", "b", "c"])
    assert c.name == "c" and c.parent.name == "b" and c.parent.parent_id == a.pk
    assert ensure_folder_path(alice.pk, None, ["a", "b", "c"]).pk == c.pk  # twice: same folder
    assert ensure_folder_path(alice.pk, None, []) is None
    assert ensure_folder_path(alice.pk, a.pk, ["x/../y"]).name == "y"
    assert [folder.name for folder in breadcrumb(alice.pk, c)] == ["a", "b", "c"]
    tree(alice)
