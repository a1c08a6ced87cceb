"""media_library.listing: keyset pagination, filters, folder tree, bounded queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from media_library.listing import (
    InvalidCursor,
    breadcrumb,
    count_files,
    encode_cursor,
    folder_choices,
    folder_tree,
    list_files,
)
from media_library.models import MediaFile
from tests.support.page_rows import make_blob, make_file, make_files, make_folder

pytestmark = pytest.mark.django_db


def walk(owner_id, folder_id, **kwargs):
    """Every page of a listing, following cursors."""
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = list_files(owner_id, folder_id, cursor=cursor, **kwargs)
        seen.extend(rows)
        pages += 1
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("sort", ["name", "-name", "created", "-created", "size", "-size"])
def test_keyset_pages_cover_every_file_once_in_order(make_user, sort):
    owner = make_user()
    folder = make_folder(owner, "Album")
    make_files(owner, 253, folder=folder)
    # Ties on the sort key (same size, same created) must still page without loss or repeats.
    blob = make_blob()
    for i in range(12):
        make_file(owner, f"tie-{i}.jpg", folder=folder, blob=blob, size=4242)
    MediaFile.objects.filter(owner=owner, name__startswith="tie-").update(
        created=timezone.now() - timedelta(days=3)
    )
    rows, pages = walk(owner.pk, folder.pk, sort=sort, limit=20)
    field = sort.lstrip("-")
    expected = sorted(
        MediaFile.objects.filter(folder=folder),
        key=lambda f: (getattr(f, field), f.pk),
        reverse=sort.startswith("-"),
    )
    assert [r.pk for r in rows] == [f.pk for f in expected]
    assert pages == 14  # 265 rows / 20 per page


def test_filter_trash_and_ownership(make_user):
    owner, other = make_user(), make_user()
    folder = make_folder(owner, "A")
    keep = make_file(owner, "Holiday-beach.jpg", folder=folder)
    make_file(owner, "work.png", folder=folder)
    gone = make_file(owner, "old-holiday.jpg", folder=None, trashed_at=timezone.now(), trashed_from=folder)
    make_file(other, "holiday-of-someone-else.jpg", folder=None)
    rows, _ = list_files(owner.pk, folder.pk, q="holiday")
    assert [r.pk for r in rows] == [keep.pk]
    rows, _ = list_files(owner.pk, None, trashed=True, sort="-trashed")
    assert [r.pk for r in rows] == [gone.pk]
    assert list_files(owner.pk, None)[0] == []  # trashed files are not in the root listing
    assert count_files(owner.pk, folder.pk, q="HOLIDAY") == 1
    assert count_files(other.pk, folder.pk) == 0


def test_cursor_is_opaque_and_checked(make_user):
    owner = make_user()
    make_files(owner, 5)
    rows, cursor = list_files(owner.pk, None, limit=2)
    assert cursor and "img" not in cursor
    with pytest.raises(InvalidCursor):
        list_files(owner.pk, None, sort="size", cursor=cursor)  # a cursor from another sort
    for bad in ["garbage", "eyJzIjoibmFtZSJ9", encode_cursor("name", rows[0])[:-3] + "!!!"]:
        with pytest.raises(InvalidCursor):
            list_files(owner.pk, None, cursor=bad)
    with pytest.raises(ValueError):
        list_files(owner.pk, None, sort="owner")


def test_deep_page_costs_the_same_queries_as_the_first(make_user):
    owner = make_user()
    folder = make_folder(owner, "Big")
    make_files(owner, 3000, folder=folder)
    cursor = None
    with CaptureQueriesContext(connection) as first:
        list_files(owner.pk, folder.pk, limit=100)
    for _ in range(29):  # walk to page 30 of 100 rows
        _, cursor = list_files(owner.pk, folder.pk, limit=100, cursor=cursor)
    with CaptureQueriesContext(connection) as deep:
        deep_rows, _ = list_files(owner.pk, folder.pk, limit=100, cursor=cursor)
    assert len(first) == len(deep) == 1
    sql = deep.captured_queries[0]["sql"].upper()
    assert "OFFSET" not in sql and "LIMIT 101" in sql
    assert len(deep_rows) == 100


def test_keyset_query_uses_the_listing_index(make_user):
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    owner = make_user()
    folder = make_folder(owner, "Big")
    make_files(owner, 500, folder=folder)
    _, cursor = list_files(owner.pk, folder.pk, limit=250)
    with CaptureQueriesContext(connection) as ctx:
        list_files(owner.pk, folder.pk, limit=100, cursor=cursor)
    sql = ctx.captured_queries[0]["sql"]
    with connection.cursor() as c:
        c.execute("EXPLAIN QUERY PLAN " + sql)
        plan = " ".join(str(row) for row in c.fetchall())
    # A range search on (owner, folder, name) — the listing index or the live-name unique index.
    assert "USING INDEX" in plan and "name>?" in plan
    assert "TEMP B-TREE" not in plan.upper()  # ordered by the index, never sorted in memory


def test_tree_breadcrumb_and_picker(make_user):
    owner, other = make_user(), make_user()
    top = make_folder(owner, "Photos")
    make_folder(owner, "Docs")
    year = make_folder(owner, "2024", parent=top)
    trip = make_folder(owner, "Trip", parent=year)
    make_folder(owner, "Elsewhere", parent=make_folder(owner, "Closed"))
    make_folder(other, "Not mine")
    assert [f.name for f in breadcrumb(owner.pk, trip)] == ["Photos", "2024", "Trip"]
    tree = folder_tree(owner.pk, year)
    assert [n.folder.name for n in tree] == ["Closed", "Docs", "Photos"]
    photos = tree[2]
    assert photos.is_open and [n.folder.name for n in photos.children] == ["2024"]
    assert photos.children[0].is_current and [n.folder.name for n in photos.children[0].children] == ["Trip"]
    assert tree[0].children == []  # closed branches are not loaded
    labels = dict(folder_choices(owner.pk))
    assert labels[trip.pk] == "Photos / 2024 / Trip" and "Not mine" not in labels.values()
    assert set(dict(folder_choices(owner.pk, exclude_subtree_of=year))) == set(labels) - {year.pk, trip.pk}


def test_selection_all_follows_the_listing_order_filter_and_root(make_user):
    """'All' is resolved from (folder, filter) in the order shown, so {n} numbers what the user sees."""
    from media_library.actions import get_action
    from media_library.actions.selection import resolve

    def resolve_selection(owner_id, action, **request):
        return resolve(owner_id, get_action(action), request)

    owner, other = make_user(), make_user()
    folder = make_folder(owner, "F")
    make_files(owner, 30, folder=folder)
    make_files(owner, 4, folder=None, prefix="root")
    make_files(other, 3, folder=None, prefix="root")
    ids = list(
        resolve_selection(owner.pk, "rename", scope="all", folder_id=folder.pk, sort="-size").values_list(
            "id", flat=True
        )
    )
    shown, _ = list_files(owner.pk, folder.pk, sort="-size", limit=100)
    assert ids == [row.pk for row in shown]
    root = resolve_selection(owner.pk, "trash", scope="all", folder_id=None, q="ROOT")
    assert root.count() == 4  # the library root is a scope too; other owners' files never are
    assert resolve_selection(owner.pk, "restore", scope="all").count() == 0  # live files are not restorable
