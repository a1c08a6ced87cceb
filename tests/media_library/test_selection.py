"""Server-side selections and keyset listings."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from media_library.actions import SelectionError, SelectionNotFound, get_action
from media_library.actions.selection import resolve
from media_library.folders import create_folder
from media_library.listing import InvalidCursor, list_files
from media_library.models import Folder, MediaFile
from media_library.operations import trash
from tests.support.library_rows import make_files

pytestmark = pytest.mark.django_db


def resolve_selection(owner_id, action, *, file_ids=None, folder_id=None, q="", sort="name"):
    """The selection an API request would make: ticked ids, else all of a folder (or the root)."""
    scope = "ids" if file_ids is not None else "all"
    request = {"scope": scope, "file_ids": file_ids, "folder_id": folder_id, "q": q, "sort": sort}
    return resolve(owner_id, get_action(action), request)


def job_params(owner_id, action, *, file_count=0, **data):
    """The action's parameters for `data`, for a selection of `file_count` files."""
    return get_action(action).clean_params(owner_id, data, Counted(file_count))


class Counted:
    """A selection of `n` files as far as parameters care: they only ask how many."""

    def __init__(self, n):
        self.n = n

    def count(self):
        return self.n


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_folder_selection_covers_files_not_loaded_in_one_query(alice, django_assert_num_queries):
    folder = create_folder(alice.pk, None, "Big")
    sub = create_folder(alice.pk, folder.pk, "Sub")
    make_files(alice, 10_000, folder=folder)
    make_files(alice, 3, folder=sub)  # "all N in this folder" = what its listing shows, not subfolders
    with django_assert_num_queries(1):  # the folder is the owner's
        selection = resolve_selection(alice.pk, "trash", folder_id=folder.pk)
    with django_assert_num_queries(1):
        assert selection.count() == 10_000
    with django_assert_num_queries(1):
        assert len(list(selection)) == 10_000


def test_other_owners_ids_are_dropped_and_state_matters(alice, make_user):
    bob = make_user("bob")
    mine = make_files(alice, 3)
    theirs = make_files(bob, 2, names=["b1.jpg", "b2.jpg"])
    trash(alice.pk, [mine[2].pk])
    ids = [f.pk for f in mine + theirs]
    assert sorted(resolve_selection(alice.pk, "move", file_ids=ids)) == [mine[0].pk, mine[1].pk]
    assert list(resolve_selection(alice.pk, "restore", file_ids=ids)) == [mine[2].pk]
    assert list(resolve_selection(alice.pk, "delete", file_ids=[t.pk for t in theirs])) == []
    bobs_folder = create_folder(bob.pk, None, "B")
    make_files(bob, 2, folder=bobs_folder)
    with pytest.raises(SelectionNotFound):  # someone else's folder is "not found", never "forbidden"
        resolve_selection(alice.pk, "trash", folder_id=bobs_folder.pk)


def test_restore_by_folder_means_trashed_from_it_and_filter_applies(alice):
    folder = create_folder(alice.pk, None, "F")
    files = make_files(alice, folder=folder, names=["cat.jpg", "dog.jpg", "cat2.jpg"])
    trash(alice.pk, [f.pk for f in files])
    assert len(resolve_selection(alice.pk, "restore", folder_id=folder.pk)) == 3
    assert len(resolve_selection(alice.pk, "delete", folder_id=folder.pk, q="CAT")) == 2


@pytest.mark.parametrize("file_ids", [["x"], "1,two", [True], [1.5], ",".join(map(str, range(1, 10_002)))])
def test_malformed_selections(alice, file_ids):
    from media_library.actions.selection import MAX_TICKED_IDS

    with pytest.raises(SelectionError):
        request = {"scope": "ids", "file_ids": file_ids}
        resolve(alice.pk, get_action("trash"), request, max_ticked=MAX_TICKED_IDS)


def test_all_of_the_root_and_of_the_trash(alice):
    folder = create_folder(alice.pk, None, "F")
    at_root = make_files(alice, names=["a.jpg", "b.jpg"])
    make_files(alice, 2, folder=folder)
    trash(alice.pk, [at_root[1].pk])
    assert list(resolve_selection(alice.pk, "move")) == [at_root[0].pk]  # no folder: the root
    assert list(resolve_selection(alice.pk, "restore")) == [at_root[1].pk]  # no folder: the whole trash
    assert list(resolve_selection(alice.pk, "empty_trash", q="nothing matches")) == [at_root[1].pk]


def test_job_params_checks_targets_and_patterns(alice, make_user):
    folder = create_folder(alice.pk, None, "F")
    bobs = create_folder(make_user("bob").pk, None, "B")
    assert job_params(alice.pk, "move", target_folder_id=str(folder.pk)) == {"target_folder_id": folder.pk}
    assert job_params(alice.pk, "copy", target_folder_id="") == {"target_folder_id": None}  # the root
    assert job_params(alice.pk, "copy", target_folder_id=None) == {"target_folder_id": None}
    assert job_params(alice.pk, "rename", name="a/b.jpg", file_count=1) == {"pattern": "b.jpg"}
    assert job_params(alice.pk, "rename", pattern="solo.jpg", file_count=1) == {"pattern": "solo.jpg"}
    assert job_params(alice.pk, "trash") == {}
    for action, kwargs, message in [
        ("move", {"target_folder_id": bobs.pk}, "does not exist"),
        ("copy", {"target_folder_id": "x"}, "does not exist"),
        ("move", {}, "Choose a target folder"),
        ("rename", {"pattern": "  ", "file_count": 2}, "Enter a name pattern"),
        ("rename", {"pattern": "same.jpg", "file_count": 2}, "every file gets the same name"),
        ("rename", {"pattern": "{n:x}{ext}", "file_count": 2}, "zero-padded width"),
        ("rename", {"name": "one.jpg", "file_count": 2}, "give a pattern for several"),
    ]:
        with pytest.raises(SelectionError, match=message):
            job_params(alice.pk, action, **kwargs)


def test_unknown_action(alice):
    with pytest.raises(SelectionError):
        resolve_selection(alice.pk, "explode", folder_id=1)


@pytest.mark.parametrize(("sort", "descending"), [("name", False), ("created", True), ("size", False)])
def test_keyset_listing_walks_every_file_once(alice, sort, descending, django_assert_max_num_queries):
    folder = create_folder(alice.pk, None, "F")
    files = make_files(alice, 250, folder=folder)
    MediaFile.objects.filter(pk__in=[f.pk for f in files[::3]]).update(size=5)  # ties on the sort key
    seen, cursor, pages = [], None, 0
    while True:
        with django_assert_max_num_queries(1):
            rows, cursor = list_files(
                alice.pk, folder.pk, sort=f"-{sort}" if descending else sort, cursor=cursor, limit=100
            )
        seen += [f.pk for f in rows]
        pages += 1
        if cursor is None:
            break
    assert pages == 3 and sorted(seen) == sorted(f.pk for f in files) and len(seen) == 250
    key = {"name": "name", "created": "created", "size": "size"}[sort]
    expected = MediaFile.objects.filter(folder=folder).order_by(
        *((f"-{key}", "-id") if descending else (key, "id"))
    )
    assert seen == list(expected.values_list("pk", flat=True))


def test_listing_filters_and_trash(alice):
    folder = create_folder(alice.pk, None, "F")
    files = make_files(alice, folder=folder, names=["Cat.jpg", "dog.jpg", "bobcat.png"])
    assert [f.name for f in list_files(alice.pk, folder.pk, q="cat")[0]] == ["Cat.jpg", "bobcat.png"]
    trash(alice.pk, [files[1].pk])
    assert [f.name for f in list_files(alice.pk, trashed=True, sort="trashed")[0]] == ["dog.jpg"]
    assert [f.name for f in list_files(alice.pk, folder.pk)[0]] == ["Cat.jpg", "bobcat.png"]
    with pytest.raises(InvalidCursor):
        list_files(alice.pk, folder.pk, cursor="not-a-cursor")
    with pytest.raises(ValueError, match="unknown sort"):
        list_files(alice.pk, folder.pk, sort="owner")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
@pytest.mark.parametrize(("folder", "trashed", "index"), [("root", False, "file_list_by_name"),
                                                          ("folder", False, "file_list_by_name"),
                                                          (None, True, "file_trash_by_date")])  # fmt: skip
def test_listing_pages_walk_their_index(alice, folder, trashed, index):
    """Page queries read their index in order (no sort step, no scan), also for the root, which
    shares folder NULL with the trashed files."""
    folder_id = create_folder(alice.pk, None, "F").pk if folder == "folder" else None
    make_files(alice, 20, trashed=True)
    make_files(alice, 20, folder=Folder.objects.filter(pk=folder_id).first())
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
    with CaptureQueriesContext(connection) as captured:
        _rows, next_cursor = list_files(
            alice.pk, folder_id, trashed=trashed, sort="trashed" if trashed else "name", limit=5
        )
        list_files(
            alice.pk,
            folder_id,
            trashed=trashed,
            sort="trashed" if trashed else "name",
            cursor=next_cursor,
        )
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        assert index in plan and "TEMP B-TREE" not in plan and "SCAN media_library_mediafile" not in plan, (
            plan
        )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
@pytest.mark.parametrize("sort", ["name", "-created"])
def test_ticked_ids_are_looked_up_by_key_not_scanned(alice, sort):
    """However many ids are ticked (one JSON parameter), each is a key lookup, never a scan of the
    owner's library; only the chosen ids are sorted."""
    files = make_files(alice, 3000)
    selection = resolve_selection(alice.pk, "trash", file_ids=[f.pk for f in files[::40]], sort=sort)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
        sql, params = selection.query.sql_with_params()
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SEARCH media_library_mediafile" in plan and "rowid=?" in plan, plan
    assert "SCAN media_library_mediafile" not in plan, plan
    assert len(list(selection)) == 75
