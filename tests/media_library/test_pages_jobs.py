"""Bulk actions and folder forms end to end through the views, with the jobs engine
(`jobs.submit`) and the folder services (`media_library.folders`)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.page_rows import make_file, make_files, make_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


def job_model():
    from jobs.models import Job

    return Job


def test_select_all_in_a_10000_file_folder_submits_one_job_covering_all(client, owner, make_user):
    Job = job_model()
    folder = make_folder(owner, "Ten thousand")
    blob = make_files(owner, 10_000, folder=folder)
    make_files(owner, 50, folder=None, blob=blob, prefix="elsewhere")  # not in the folder: left out
    make_files(make_user("other"), 20, folder=None, blob=blob)
    data = {"action": "trash", "scope": "all", "folder_id": folder.pk, "q": "", "file_ids": ""}
    confirm = client.post(
        reverse("media_library:confirm_action"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-count="10000"' in confirm and "Move 10,000 files to the trash?" in confirm
    response = client.post(reverse("media_library:submit_action"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 202
    html = response.content.decode()
    job_id = re.search(r'id="job-([0-9a-f-]+)"', html).group(1)
    assert 'data-total="10000"' in html
    assert Job.objects.count() == 1
    job = Job.objects.get(pk=job_id)
    assert job.owner_id == owner.pk and job.total == 10_000
    assert 'id="dialog-slot" hx-swap-oob="true"' in html  # the confirmation closes


def test_filtered_select_all_covers_only_the_matching_files(client, owner):
    Job = job_model()
    folder = make_folder(owner, "Mixed")
    make_files(owner, 30, folder=folder, prefix="keep")
    make_files(owner, 7, folder=folder, prefix="drop")
    data = {"action": "trash", "scope": "all", "folder_id": folder.pk, "q": "drop"}
    assert client.post(reverse("media_library:submit_action"), data).status_code == 202
    assert Job.objects.get().total == 7


def test_ticked_ids_move_job_with_target_and_rename_pattern(client, owner, make_user):
    Job = job_model()
    target = make_folder(owner, "Target")
    mine = [make_file(owner, f"m{i}.jpg") for i in range(3)]
    theirs = make_file(make_user("other"), "t.jpg")
    ids = ",".join(str(f.pk) for f in [*mine, theirs])
    response = client.post(
        reverse("media_library:submit_action"),
        {"action": "move", "file_ids": ids, "target_folder_id": target.pk},
    )
    assert response.status_code == 202
    job = Job.objects.get()
    assert job.total == 3 and job.params["target_folder_id"] == target.pk
    response = client.post(
        reverse("media_library:submit_action"),
        {"action": "rename", "file_ids": ids, "pattern": "trip-{n:03}{ext}"},
    )
    assert response.status_code == 202
    assert Job.objects.order_by("-created").first().params["pattern"] == "trip-{n:03}{ext}"


def test_submit_uses_the_bulk_action_service(owner):
    job_model()
    from media_library.actions import submit_action

    folder = make_folder(owner, "F")
    make_files(owner, 12, folder=folder)
    job, count = submit_action(owner, "thumbnails", {"scope": "all", "folder_id": folder.pk})
    assert count == 12 and job.total == 12


def test_folder_forms_create_rename_move_trash(client, owner):
    from media_library.models import Folder

    response = client.post(reverse("media_library:new_folder"), {"name": "Holidays"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    holidays = Folder.objects.get(owner=owner, name="Holidays")
    assert response["HX-Redirect"] == reverse("media_library:folder", args=[holidays.pk])
    other = make_folder(owner, "Archive")
    response = client.post(reverse("media_library:rename_folder", args=[holidays.pk]), {"name": "Trips"})
    assert response.status_code == 303
    holidays.refresh_from_db()
    assert holidays.name == "Trips"
    response = client.post(
        reverse("media_library:move_folder", args=[holidays.pk]), {"target_folder_id": other.pk}
    )
    assert response.status_code == 303
    holidays.refresh_from_db()
    assert holidays.parent_id == other.pk
    response = client.post(reverse("media_library:new_folder"), {"name": "   "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "Enter a folder name." in response.content.decode()
    make_file(owner, "x.jpg", folder=holidays)
    html = client.get(reverse("media_library:trash_folder", args=[holidays.pk])).content.decode()
    assert 'data-count="1"' in html
    response = client.post(reverse("media_library:trash_folder", args=[holidays.pk]))
    assert response.status_code == 303 and response["Location"] == reverse(
        "media_library:folder", args=[other.pk]
    )


def test_trash_shows_the_path_of_a_deleted_origin_folder(client, owner):
    from media_library.folders import trash_folder

    top = make_folder(owner, "Deleted later")
    inner = make_folder(owner, "<b>inner</b>", parent=top)
    make_file(owner, "b.jpg", folder=inner)
    trash_folder(owner.pk, top.pk)
    html = client.get(reverse("media_library:trash")).content.decode()
    assert "Deleted later / &lt;b&gt;inner&lt;/b&gt;" in html
