"""Download as ZIP on the pages and the API: the action bar and the folder's own button (a folder
with its subfolders), the confirmation with its count, POST /api/jobs/ with "subfolders", the
OpenAPI schema, the dashboard."""

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import Job
from media_library.models import Archive
from tests.support.page_rows import make_file, make_folder

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def tree(make_user):
    owner = make_user()
    top = make_folder(owner, "Top")
    sub = make_folder(owner, "Sub", top)
    make_file(owner, "a.jpg", top)
    make_file(owner, "b.jpg", top)
    make_file(owner, "c.jpg", sub)
    return owner, top, sub


def test_the_folder_page_offers_the_zip_for_the_selection_and_for_the_folder_tree(tree):
    owner, top, _sub = tree
    html = logged_in(owner).get(reverse("media_library:folder", args=[top.pk])).content.decode()
    assert 'value="archive"' in html and ">Download as ZIP</button>" in html  # the action bar
    assert 'name="scope" value="tree"' in html and ">Download folder as ZIP</button>" in html
    root = logged_in(owner).get(reverse("media_library:library")).content.decode()
    assert ">Download as ZIP: whole library</button>" in root
    trash = logged_in(owner).get(reverse("media_library:trash")).content.decode()
    assert 'value="archive"' not in trash  # trashed files are not offered


def test_confirming_the_folder_tree_counts_its_subfolders_and_submits_one_job(tree):
    owner, top, _sub = tree
    client = logged_in(owner)
    form = {"action": "archive", "scope": "tree", "folder_id": top.pk}
    dialog = client.post(reverse("media_library:confirm_action"), form).content.decode()
    assert "Make a ZIP of 3 files to download?" in dialog and "With all its subfolders." in dialog
    assert 'name="scope" value="tree"' in dialog
    response = client.post(reverse("media_library:submit_action"), form)
    assert response.status_code == 202
    job = Job.objects.get(owner=owner)
    assert (job.kind, job.total, job.queue) == ("archive", 3, "bulk")
    card = response.content.decode()
    assert "ZIP download" in card and 'class="job-bytes"' in card  # the card counts bytes too
    assert Archive.objects.get(job=job).file_count == 3


def test_all_n_in_the_folder_means_the_folders_own_files_with_the_filter(tree):
    owner, top, _sub = tree
    client = logged_in(owner)
    form = {"action": "archive", "scope": "all", "folder_id": top.pk, "q": "a"}
    assert (
        "Make a ZIP of 1 file to download?"
        in client.post(reverse("media_library:confirm_action"), form).content.decode()
    )
    assert client.post(reverse("media_library:submit_action"), form).status_code == 202
    assert Job.objects.get(owner=owner).total == 1


def test_another_users_folder_is_404_on_the_pages(tree, make_user):
    _owner, top, _sub = tree
    form = {"action": "archive", "scope": "tree", "folder_id": top.pk}
    assert logged_in(make_user()).post(reverse("media_library:confirm_action"), form).status_code == 404
    assert logged_in(make_user()).post(reverse("media_library:submit_action"), form).status_code == 404
    assert not Job.objects.exists()


def test_the_api_takes_a_folder_with_its_subfolders(tree):
    owner, top, _sub = tree
    client = logged_in(owner)

    def post(body):
        return client.post("/api/jobs/", body, content_type="application/json")

    assert post({"action": "archive", "folder_id": top.pk}).json()["file_count"] == 2
    assert post({"action": "archive", "folder_id": top.pk, "subfolders": True}).json()["file_count"] == 3
    assert post({"action": "archive", "subfolders": True}).json()["file_count"] == 3  # the whole library
    wrong = post({"action": "archive", "file_ids": [1], "subfolders": True})
    assert wrong.status_code == 400 and "subfolders goes with folder_id" in wrong.json()["error"]
    refused = post({"action": "move", "folder_id": top.pk, "subfolders": True, "target_folder_id": None})
    assert (
        refused.status_code == 400 and "does not take a folder with its subfolders" in refused.json()["error"]
    )


def test_the_openapi_schema_documents_the_archive_request_and_the_download_url(client):
    schema = client.get("/api/openapi.json").json()
    request = schema["components"]["schemas"]["JobRequest"]["properties"]
    assert "subfolders" in request and "whole library" in request["subfolders"]["description"]
    submit = schema["paths"]["/api/jobs/"]["post"]["description"]
    assert "`archive` (Download as ZIP)" in submit and "download_url" in submit
    job = schema["components"]["schemas"]["JobOut"]["properties"]
    assert "download_url" in job and "ZIP" in job["download_url"]["description"]


def test_the_dashboard_shows_the_space_zips_use(tree, make_user):
    owner, _top, _sub = tree
    Archive.objects.create(owner=owner, name="a.zip", status="ready", size=3 * 1024 * 1024)
    Archive.objects.create(owner=owner, name="b.zip", status="expired", size=5 * 1024 * 1024)
    Archive.objects.create(owner=make_user(), name="c.zip", status="ready", size=1024 * 1024)
    html = logged_in(owner).get("/").content.decode()
    assert 'id="own-archives">1 ready, using 3.0\xa0MB<' in html and "all-archives" not in html
    staff = logged_in(make_user(is_staff=True)).get("/").content.decode()
    assert 'id="all-archives">2 ready, using 4.0\xa0MB<' in staff
    assert "kept 24 hours after it is ready" in html


def test_the_admin_lists_zips_read_only(tree, admin_client):
    owner, _top, _sub = tree
    archive = Archive.objects.create(owner=owner, name="Top 2025-05-01.zip", status="ready", size=10)
    listing = admin_client.get("/admin/media_library/archive/")
    assert listing.status_code == 200 and "Top 2025-05-01.zip" in listing.content.decode()
    assert admin_client.get("/admin/media_library/archive/add/").status_code == 403
    change = admin_client.post(f"/admin/media_library/archive/{archive.pk}/change/", {"name": "x.zip"})
    assert change.status_code == 403 and Archive.objects.get(pk=archive.pk).name == "Top 2025-05-01.zip"
