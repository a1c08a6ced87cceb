"""The bulk action registry: one class per action, read by the pages, the API and the job kinds."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import ngettext_lazy

from jobs import registry as job_kinds
from jobs.models import Job
from jobs.progress import render_card
from media_library.actions import Takes, actions_taking, all_actions, get_action, registry
from media_library.actions.base import BulkAction
from media_library.folders import create_folder
from media_library.kinds.files import handle_trash
from tests.support.library_rows import make_files

pytestmark = pytest.mark.django_db

NAMES = {"move", "copy", "rename", "trash", "thumbnails", "archive", "restore", "delete", "empty_trash"}


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_every_action_declares_its_job_kind_with_its_label():
    assert {action.name for action in all_actions()} == NAMES
    for action in all_actions():
        kind = job_kinds.get_kind(action.kind)
        assert kind.label == action.job_label and kind.handler is action.handler, action
        assert (kind.queue, kind.chunk_size, kind.defer_seconds) == (
            action.queue,
            action.chunk_size,
            action.defer_seconds,
        )
    assert job_kinds.get_kind("regenerate_thumbnails").label == "Regenerate thumbnails"
    assert job_kinds.get_kind("thumbnails").label == "Make thumbnails"  # after an upload
    assert job_kinds.get_kind("delete").defer_seconds == 5  # the undo window


def test_pages_offer_the_actions_by_the_files_they_take_in_button_order():
    assert [a.name for a in actions_taking(Takes.LIVE)] == [
        "move", "copy", "rename", "trash", "thumbnails", "archive",
    ]  # fmt: skip
    assert [a.name for a in actions_taking(Takes.TRASHED)] == ["restore", "delete"]
    assert [a.name for a in actions_taking(Takes.WHOLE_TRASH)] == ["empty_trash"]


def test_confirmation_counts_in_the_right_plural_with_separators():
    assert get_action("trash").confirm_text(1) == "Move 1 file to the trash?"
    assert get_action("trash").confirm_text(12_345) == "Move 12,345 files to the trash?"
    assert get_action("empty_trash").confirm_text(2) == (
        "Permanently delete all 2 files in the trash? This cannot be undone."
    )


def test_finished_card_shows_the_actions_success_message(make_user):
    owner = make_user()
    job = Job.objects.create(owner=owner, kind="trash", status="succeeded", total=1200, done=1200)
    assert '<p class="job-summary">1,200 of 1,200 moved to trash</p>' in render_card(job)
    running = Job.objects.create(owner=owner, kind="trash", status="running", total=1200, done=10)
    assert "job-summary" not in render_card(running)


class StampAction(BulkAction):
    """A made-up action, the way a new one is added: one small class."""

    name = "stamp_for_test"
    label = "Stamp (test)"
    confirm = ngettext_lazy("Stamp %(count)s file?", "Stamp %(count)s files?", "number")
    handler = staticmethod(handle_trash)
    success_message = "{done} stamped"


@pytest.fixture
def stamp_action(monkeypatch):
    """StampAction registered for one test (the registries are restored afterwards)."""
    monkeypatch.setattr(registry, "_actions", dict(registry._actions))
    monkeypatch.setattr(job_kinds, "_kinds", dict(job_kinds._kinds))
    registry.register(StampAction)
    return get_action("stamp_for_test")


def test_a_new_action_is_one_class_found_by_pages_api_and_jobs(stamp_action, make_user):
    owner = make_user()
    folder = create_folder(owner.pk, None, "F")
    make_files(owner, 3, folder=folder)
    client = logged_in(owner)
    assert "Stamp (test)" in client.get(reverse("media_library:folder", args=[folder.pk])).content.decode()
    html = client.post(
        reverse("media_library:confirm_action"),
        {"action": "stamp_for_test", "scope": "all", "folder_id": folder.pk},
    ).content.decode()
    assert "Stamp 3 files?" in html
    response = client.post(
        "/api/jobs/", {"action": "stamp_for_test", "folder_id": folder.pk}, content_type="application/json"
    )
    assert response.status_code == 202 and response.json()["file_count"] == 3
    job = Job.objects.get(pk=response.json()["job_id"])
    assert job.kind == "stamp_for_test" and job_kinds.get_kind(job.kind).label == "Stamp (test)"


def test_the_api_documents_every_registered_action():
    from media_library.api.jobs import SUBMIT_DESCRIPTION

    assert all(f"`{action.name}` ({action.label})" in SUBMIT_DESCRIPTION for action in all_actions())


def test_unknown_action_names_the_valid_ones(make_user):
    response = logged_in(make_user()).post(
        "/api/jobs/", {"action": "explode", "file_ids": [1]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Unknown action. Use one of: archive, copy, delete")
