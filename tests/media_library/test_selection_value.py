"""A selection is a value: built once from the posted fields, its folder resolved once, frozen."""

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from media_library.actions import Scope, Selection, SelectionNotFound, get_action, submit_action
from media_library.models import Archive
from tests.support.page_rows import make_file, make_folder

pytestmark = pytest.mark.django_db


def folder_lookups(queries, folder):
    """The queries that read `folder`'s own row by its id (the ownership check), not its subfolders."""
    by_id = f'WHERE "media_library_folder"."id" = {folder.pk}'
    return [q["sql"] for q in queries if 'FROM "media_library_folder"' in q["sql"] and by_id in q["sql"]]


@pytest.mark.parametrize("scope", ["all", "tree"])
def test_a_zip_of_a_folder_reads_the_folder_once_and_is_named_after_it(make_user, scope):
    owner = make_user()
    folder = make_folder(owner, "Trips")
    make_file(owner, "a.jpg", folder, size=10)
    with CaptureQueriesContext(connection) as queries:
        job, count = submit_action(owner, "archive", {"scope": scope, "folder_id": folder.pk})
    assert count == 1
    assert Archive.objects.get(job=job).name.startswith("Trips ")
    assert len(folder_lookups(queries.captured_queries, folder)) == 1


def test_the_selection_is_frozen_and_carries_the_resolved_folder(make_user):
    owner = make_user()
    folder = make_folder(owner, "Trips")
    media = make_file(owner, "a.jpg", folder)
    selection = Selection.build(owner.pk, get_action("trash"), {"scope": "all", "folder_id": str(folder.pk)})
    assert (selection.scope, selection.folder, selection.q, selection.sort) == (
        Scope.FOLDER,
        folder,
        "",
        "name",
    )
    assert list(selection.files) == [media.pk]
    with pytest.raises(dataclasses.FrozenInstanceError):
        selection.folder = None


def test_someone_elses_folder_is_not_found_when_the_selection_is_built(make_user):
    folder = make_folder(make_user(), "Theirs")
    with pytest.raises(SelectionNotFound):
        Selection.build(make_user().pk, get_action("archive"), {"scope": "tree", "folder_id": folder.pk})
