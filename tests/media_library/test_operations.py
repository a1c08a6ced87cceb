"""The set-based operations: effect, naming conflicts, idempotency, ownership and query bounds."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction

from media_library import operations
from media_library.folders import create_folder, trash_folder
from media_library.models import Blob, Folder, MediaFile
from media_library.operations import OperationError
from tests.support.library_rows import make_blob, make_files

pytestmark = pytest.mark.django_db

# Name allocation may add a query per 50 clashing stems (naming.NameAllocator): at most 11 for 500.
BATCH_QUERY_LIMIT = 20  # a 500-id batch, whatever its size: a small constant


def ids(files):
    return [f.pk for f in files]


def names_in(owner, folder):
    return sorted(
        MediaFile.objects.filter(owner=owner, folder=folder, trashed_at__isnull=True).values_list(
            "name", flat=True
        )
    )


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


# --- trash / restore ---------------------------------------------------------------------------


def test_trash_records_origin_and_is_idempotent(alice):
    trips = create_folder(alice.pk, None, "Trips")
    year = create_folder(alice.pk, trips.pk, "2024/25")  # a "/" in a name: safe_display_name keeps "25"
    files = make_files(alice, 3, folder=year)
    first = operations.trash(alice.pk, ids(files))
    assert (first.done, first.failures) == (3, [])
    row = MediaFile.objects.get(pk=files[0].pk)
    assert row.trashed_at is not None and row.folder_id is None and row.trashed_from_id == year.pk
    assert json.loads(row.trashed_from_path) == ["Trips", year.name]
    trashed_at = row.trashed_at
    again = operations.trash(alice.pk, ids(files))
    assert (again.done, again.failures) == (3, [])
    assert MediaFile.objects.get(pk=files[0].pk).trashed_at == trashed_at  # untouched the second time


def test_restore_to_origin_with_conflicting_names(alice):
    folder = create_folder(alice.pk, None, "Photos")
    [photo] = make_files(alice, folder=folder, names=["photo.jpg"])
    operations.trash(alice.pk, [photo.pk])
    make_files(alice, folder=folder, names=["photo.jpg", "photo (2).jpg"])  # the name was re-used meanwhile
    result = operations.restore(alice.pk, [photo.pk])
    assert (result.done, result.failures) == (1, [])
    restored = MediaFile.objects.get(pk=photo.pk)
    assert (restored.folder_id, restored.name, restored.trashed_at) == (folder.pk, "photo (3).jpg", None)
    assert operations.restore(alice.pk, [photo.pk]).done == 1  # twice: a no-op
    assert MediaFile.objects.get(pk=photo.pk).name == "photo (3).jpg"


def test_restore_recreates_a_deleted_folder_chain(alice):
    trips = create_folder(alice.pk, None, "Trips")
    rome = create_folder(alice.pk, trips.pk, "Rome")
    files = make_files(alice, 2, folder=rome)
    operations.trash(alice.pk, ids(files))
    Folder.objects.filter(pk__in=[trips.pk, rome.pk]).delete()
    result = operations.restore(alice.pk, ids(files))
    assert (result.done, result.failures) == (2, [])
    new_trips = Folder.objects.get(owner=alice, parent=None, name="Trips")
    new_rome = Folder.objects.get(owner=alice, parent=new_trips, name="Rome")
    assert new_rome.path == f"/{new_trips.pk}/{new_rome.pk}/"
    assert names_in(alice, new_rome) == ["f00000.jpg", "f00001.jpg"]


def test_restore_after_folder_trash_recreates_subtree(alice):
    top = create_folder(alice.pk, None, "Top")
    sub = create_folder(alice.pk, top.pk, "Sub")
    make_files(alice, 2, folder=top)
    deep = make_files(alice, folder=sub, names=["deep.png"])
    assert trash_folder(alice.pk, top.pk) == 3
    assert not Folder.objects.filter(owner=alice).exists()
    trashed = MediaFile.objects.filter(owner=alice, trashed_at__isnull=False)
    assert trashed.count() == 3
    operations.restore(alice.pk, list(trashed.values_list("pk", flat=True)))
    restored = MediaFile.objects.get(pk=deep[0].pk)
    assert restored.folder.name == "Sub" and restored.folder.parent.name == "Top"


def test_restore_to_root_when_no_origin(alice):
    [loose] = make_files(alice, names=["loose.jpg"], trashed=True)
    assert operations.restore(alice.pk, [loose.pk]).done == 1
    restored = MediaFile.objects.get(pk=loose.pk)
    assert restored.folder_id is None and restored.trashed_at is None


# --- move / copy -------------------------------------------------------------------------------


def test_move_deconflicts_and_is_idempotent(alice):
    a = create_folder(alice.pk, None, "A")
    b = create_folder(alice.pk, None, "B")
    c = create_folder(alice.pk, None, "C")
    from_a = make_files(alice, folder=a, names=["x.jpg", "y.jpg"])
    from_b = make_files(alice, folder=b, names=["x.jpg"])
    make_files(alice, folder=c, names=["y.jpg"])
    batch = ids(from_a + from_b)
    result = operations.move(alice.pk, batch, c.pk)
    assert (result.done, result.failures) == (3, [])
    assert names_in(alice, c) == ["x (2).jpg", "x.jpg", "y (2).jpg", "y.jpg"]
    snapshot = list(MediaFile.objects.filter(pk__in=batch).order_by("pk").values_list("folder_id", "name"))
    assert operations.move(alice.pk, batch, c.pk).done == 3
    assert (
        list(MediaFile.objects.filter(pk__in=batch).order_by("pk").values_list("folder_id", "name"))
        == snapshot
    )


def test_move_to_root_and_refuses_trashed_and_missing_target(alice, bob):
    folder = create_folder(alice.pk, None, "F")
    live = make_files(alice, folder=folder, names=["a.jpg"])
    trashed = make_files(alice, names=["t.jpg"], trashed=True)
    result = operations.move(alice.pk, ids(live + trashed), None)
    assert result.done == 1 and result.failures == [(trashed[0].pk, "in the trash")]
    assert MediaFile.objects.get(pk=live[0].pk).folder_id is None
    bobs_folder = create_folder(bob.pk, None, "Bob's")
    with pytest.raises(OperationError):
        operations.move(alice.pk, ids(live), bobs_folder.pk)
    with pytest.raises(OperationError):
        operations.move(alice.pk, ids(live), 987654)


def test_copy_shares_blobs_and_is_idempotent_per_key(alice):
    folder = create_folder(alice.pk, None, "F")
    files = make_files(alice, folder=folder, names=["a.jpg", "b.jpg"])
    result = operations.copy(alice.pk, ids(files), folder.pk, copy_key="job-1")
    assert (result.done, result.failures) == (2, [])
    assert names_in(alice, folder) == ["a (2).jpg", "a.jpg", "b (2).jpg", "b.jpg"]
    assert Blob.objects.count() == 1  # same bytes, new rows
    made = MediaFile.objects.filter(copy_key="job-1").order_by("name")
    assert [(m.copied_from, m.created.tzinfo is not None) for m in made] == [
        (files[0].pk, True),
        (files[1].pk, True),
    ]
    assert operations.copy(alice.pk, ids(files), folder.pk, copy_key="job-1").done == 2
    assert MediaFile.objects.filter(owner=alice).count() == 4  # the re-run created nothing
    operations.copy(alice.pk, ids(files), folder.pk, copy_key="job-2")  # another job copies again
    assert names_in(alice, folder)[:3] == ["a (2).jpg", "a (3).jpg", "a.jpg"]


# --- rename ------------------------------------------------------------------------------------


def test_rename_pattern_numbers_across_job_and_is_idempotent(alice):
    folder = create_folder(alice.pk, None, "F")
    files = make_files(alice, folder=folder, names=["b.jpg", "a.png", "trip-003.jpg"])
    result = operations.rename(alice.pk, ids(files), "trip-{n:03}{ext}", offset=1)
    assert (result.done, result.failures) == (3, [])
    got = dict(MediaFile.objects.filter(pk__in=ids(files)).values_list("pk", "name"))
    assert [got[pk] for pk in ids(files)] == ["trip-002.jpg", "trip-003.png", "trip-004.jpg"]
    operations.rename(alice.pk, ids(files), "trip-{n:03}{ext}", offset=1)
    assert dict(MediaFile.objects.filter(pk__in=ids(files)).values_list("pk", "name")) == got


def test_rename_swapping_names_inside_a_folder(alice):
    folder = create_folder(alice.pk, None, "F")
    files = make_files(alice, folder=folder, names=["x-2.jpg", "x-1.jpg"])  # n=1 wants "x-1.jpg"
    operations.rename(alice.pk, ids(files), "x-{n}{ext}")
    got = dict(MediaFile.objects.filter(pk__in=ids(files)).values_list("pk", "name"))
    assert [got[pk] for pk in ids(files)] == ["x-1.jpg", "x-2.jpg"]


def test_rename_conflicts_with_other_files_and_single_rename(alice):
    folder = create_folder(alice.pk, None, "F")
    make_files(alice, folder=folder, names=["same.jpg"])
    files = make_files(alice, folder=folder, names=["1.jpg", "2.jpg"])
    operations.rename(alice.pk, ids(files), "same{ext}")
    assert names_in(alice, folder) == ["same (2).jpg", "same (3).jpg", "same.jpg"]
    operations.rename_file(alice.pk, files[0].pk, "../{weird}\x00 name.jpg")
    assert MediaFile.objects.get(pk=files[0].pk).name == "{weird} name.jpg"


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "{n.__class__}",
        "{name[0]}",
        "{n!r}",
        "{0}",
        "{}",
        "{secret}",
        "{n:{n}}",
        "{n:>500}",
        "a/{n}",
        "{",
        "x}",
    ],
)
def test_rename_rejects_unsafe_patterns(alice, pattern):
    with pytest.raises(OperationError):
        operations.compile_pattern(pattern)


def test_compile_pattern_fields():
    render = operations.compile_pattern("{stem}-{n:03}{ext} ({name})")
    assert render(7, "cat.jpg") == "cat-007.jpg (cat.jpg)"


# --- delete ------------------------------------------------------------------------------------


def test_delete_permanently_removes_unreferenced_blobs_after_commit(
    alice, bob, django_capture_on_commit_callbacks
):
    shared = make_blob(stored=True)
    alone = make_blob(stored=True)
    thumb = f"thumbs/{alone.sha256[:2]}/{alone.sha256[2:4]}/{alone.sha256}-256.webp"
    default_storage.save(thumb, ContentFile(b"webp"))
    doomed = make_files(alice, names=["a.jpg"], blob=shared, trashed=True)
    doomed += make_files(alice, names=["b.jpg"], blob=alone, trashed=True)
    make_files(bob, names=["keeps-shared.jpg"], blob=shared)
    live = make_files(alice, names=["live.jpg"], blob=alone)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = operations.delete_permanently(alice.pk, ids(doomed + live))
    assert result.done == 2 and result.failures == [(live[0].pk, "not in the trash")]
    assert not MediaFile.objects.filter(pk__in=ids(doomed)).exists()
    assert Blob.objects.filter(pk=alone.pk).exists()  # the live file still uses it
    assert default_storage.exists(alone.storage_name)
    MediaFile.objects.filter(pk=live[0].pk).delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        operations.delete_permanently(alice.pk, ids(doomed))  # twice: nothing left to do
    assert callbacks == []
    operations.trash(alice.pk, [])  # empty batch is fine
    [again] = make_files(alice, names=["c.jpg"], blob=alone, trashed=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        operations.empty_trash(alice.pk, [again.pk])
    assert not Blob.objects.filter(pk=alone.pk).exists()
    assert default_storage.exists(alone.storage_name)  # not before the commit
    for callback in callbacks:
        callback()
    assert not default_storage.exists(alone.storage_name) and not default_storage.exists(thumb)
    assert Blob.objects.filter(pk=shared.pk).exists() and default_storage.exists(shared.storage_name)


def test_blob_files_kept_when_an_upload_reused_the_bytes(alice, django_capture_on_commit_callbacks):
    blob = make_blob(stored=True)
    [file] = make_files(alice, names=["a.jpg"], blob=blob, trashed=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        operations.delete_permanently(alice.pk, [file.pk])
    Blob.objects.create(sha256=blob.sha256, size=blob.size, format="PNG", width=4, height=3)  # re-uploaded
    for callback in callbacks:
        callback()
    assert default_storage.exists(blob.storage_name)


# --- ownership ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["trash", "restore", "delete", "move", "copy", "rename"])
def test_other_owners_ids_are_never_touched(alice, bob, action):
    bobs_live = make_files(bob, names=["b1.jpg"])
    bobs_trashed = make_files(bob, names=["b2.jpg"], trashed=True)
    target = create_folder(alice.pk, None, "Mine")
    before = list(MediaFile.objects.filter(owner=bob).order_by("pk").values())
    batch = ids(bobs_live + bobs_trashed)
    run = {
        "trash": lambda: operations.trash(alice.pk, batch),
        "restore": lambda: operations.restore(alice.pk, batch),
        "delete": lambda: operations.delete_permanently(alice.pk, batch),
        "move": lambda: operations.move(alice.pk, batch, target.pk),
        "copy": lambda: operations.copy(alice.pk, batch, target.pk, copy_key="k"),
        "rename": lambda: operations.rename(alice.pk, batch, "mine-{n}{ext}"),
    }[action]
    result = run()
    assert list(MediaFile.objects.filter(owner=bob).order_by("pk").values()) == before
    assert not MediaFile.objects.filter(owner=alice).exists()
    if action != "delete":  # for delete "does not exist for you" is the end state: done
        assert sorted(result.failures) == sorted((pk, "not found") for pk in batch)


# --- query bounds ------------------------------------------------------------------------------


@pytest.fixture
def big_batch(alice):
    """500 files spread over two folders, with name clashes in the target for move/copy/restore."""
    a = create_folder(alice.pk, None, "A")
    b = create_folder(alice.pk, None, "B")
    target = create_folder(alice.pk, None, "Target")
    files = make_files(alice, 250, folder=a) + make_files(alice, 250, folder=b)
    make_files(alice, 50, folder=target)
    return files, target


def test_query_counts_are_bounded_for_500_ids(alice, big_batch, django_assert_max_num_queries):
    files, target = big_batch
    batch = ids(files)
    with django_assert_max_num_queries(BATCH_QUERY_LIMIT):
        assert operations.copy(alice.pk, batch, target.pk, copy_key="k").done == 500
    with django_assert_max_num_queries(BATCH_QUERY_LIMIT):
        assert operations.rename(alice.pk, batch, "p-{n:04}{ext}").done == 500
    with django_assert_max_num_queries(BATCH_QUERY_LIMIT):
        assert operations.move(alice.pk, batch, target.pk).done == 500
    assert MediaFile.objects.filter(folder=target).count() == 1050
    with django_assert_max_num_queries(BATCH_QUERY_LIMIT):
        assert operations.trash(alice.pk, batch).done == 500
    make_files(alice, folder=target, names=[f"p-{n:04}.jpg" for n in range(1, 501)][:100])  # clashes
    with django_assert_max_num_queries(BATCH_QUERY_LIMIT):
        assert operations.restore(alice.pk, batch).done == 500
    operations.trash(alice.pk, batch)
    with django_assert_max_num_queries(BATCH_QUERY_LIMIT):
        assert operations.delete_permanently(alice.pk, batch).done == 500


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner trap")
@pytest.mark.parametrize("action", ["trash", "restore", "move", "copy", "rename", "delete"])
def test_every_statement_on_the_file_table_avoids_scans(alice, big_batch, action):
    """On a database never ANALYZEd, each statement an operation runs on the file table must
    reach its rows through the primary key or a matching index: no table scan, and no walk of an
    owner's rows through the (owner_id) or (owner, trashed_at) indexes."""
    from django.test.utils import CaptureQueriesContext

    files, target = big_batch
    batch = ids(files)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
    if action in ("restore", "delete"):
        operations.trash(alice.pk, batch)
    run = {
        "trash": lambda: operations.trash(alice.pk, batch),
        "restore": lambda: operations.restore(alice.pk, batch),
        "move": lambda: operations.move(alice.pk, batch, target.pk),
        "copy": lambda: operations.copy(alice.pk, batch, target.pk, copy_key="job"),
        "rename": lambda: operations.rename(alice.pk, batch, "r-{n}{ext}"),
        "delete": lambda: operations.delete_permanently(alice.pk, batch),
    }[action]
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        run()
    statements = [q["sql"] for q in captured.captured_queries if "media_library_mediafile" in q["sql"]]
    assert statements
    for sql in statements:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")  # the captured SQL has its values inlined
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        assert "SCAN media_library_mediafile" not in plan, (sql[:150], plan)
        assert "owner_id_" not in plan and "file_trash_by_date" not in plan, (sql[:150], plan)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner trap")
def test_name_lookup_in_a_folder_uses_a_name_index(alice, big_batch):
    """The batch's name look-up (NameAllocator) must probe a (owner, folder, name) index, not
    walk an (owner, trashed_at) index over every live file of the owner."""
    from media_library.naming import live_file_names

    _files, target = big_batch
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
    names = [f"f{i:05}.jpg" for i in range(500)]
    queryset = live_file_names(alice.pk, target.pk).filter(name__in=names).values_list("name", flat=True)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "name=?" in plan and "trash" not in plan, plan


def test_batch_is_all_or_nothing_in_a_transaction(alice):
    files = make_files(alice, 3)
    with pytest.raises(RuntimeError), transaction.atomic():
        operations.trash(alice.pk, ids(files))
        raise RuntimeError("the chunk failed after the operation")
    assert MediaFile.objects.filter(owner=alice, trashed_at__isnull=True).count() == 3


def test_a_full_job_chunk_runs_every_operation(alice):
    """The job kinds' chunk size (FILE_CHUNK ids) stays within the databases' statement limits,
    with every row renamed or moved on a name clash (the largest statements an operation makes)."""
    from media_library.kinds.files import FILE_CHUNK

    source = create_folder(alice.pk, None, "Source")
    target = create_folder(alice.pk, None, "Target")
    batch = ids(make_files(alice, FILE_CHUNK, folder=source))
    make_files(alice, FILE_CHUNK, folder=target)  # the same names: every copy and move clashes
    assert operations.copy(alice.pk, batch, target.pk, copy_key="k").done == FILE_CHUNK
    assert operations.rename(alice.pk, batch, "{name}").done == FILE_CHUNK  # same names: no-op
    assert operations.move(alice.pk, batch, target.pk).done == FILE_CHUNK
    assert operations.trash(alice.pk, batch).done == FILE_CHUNK
    taken = MediaFile.objects.filter(pk__in=batch).values_list("name", flat=True)
    make_files(alice, folder=target, names=list(taken))  # the trashed files' names are taken meanwhile
    assert operations.restore(alice.pk, batch).done == FILE_CHUNK
    assert MediaFile.objects.filter(folder=target, trashed_at__isnull=True).count() == 4 * FILE_CHUNK
    assert len(set(MediaFile.objects.filter(folder=target).values_list("name", flat=True))) == 4 * FILE_CHUNK
    operations.trash(alice.pk, batch)
    assert operations.delete_permanently(alice.pk, batch).done == FILE_CHUNK


def test_trash_of_a_file_moved_after_the_read_still_trashes_it(alice, monkeypatch):
    """Under READ COMMITTED a file can change folder between the operation's read and its UPDATEs:
    the root-only UPDATE then skips it, and the fallback statement trashes it with its origin."""
    import importlib

    trash_module = importlib.import_module("media_library.operations.trash")  # the module, not the function

    folder = create_folder(alice.pk, None, "Elsewhere")
    [moved, stays] = make_files(alice, names=["moved.jpg", "stays.jpg"])  # both at the root
    real_fetch = trash_module.fetch_owned

    def fetch_then_concurrent_move(*args):
        rows = real_fetch(*args)
        MediaFile.objects.filter(pk=moved.pk).update(folder=folder)  # "another transaction"
        return rows

    monkeypatch.setattr(trash_module, "fetch_owned", fetch_then_concurrent_move)
    assert operations.trash(alice.pk, [moved.pk, stays.pk]).done == 2
    moved_row, stays_row = MediaFile.objects.get(pk=moved.pk), MediaFile.objects.get(pk=stays.pk)
    assert moved_row.trashed_at and moved_row.folder_id is None and moved_row.trashed_from_id == folder.pk
    assert stays_row.trashed_at and stays_row.folder_id is None and stays_row.trashed_from_id is None
