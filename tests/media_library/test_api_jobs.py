"""POST /api/jobs/: 202 for a valid selection, 400 with a clear error otherwise, CSRF enforced."""

import time

import pytest
from django.test import Client

from media_library.folders import create_folder
from media_library.models import MediaFile
from media_library.operations import trash
from tests.support.library_rows import make_files

# Only the tests that reach jobs.submit need it; the 400 cases and CSRF run regardless.
URL = "/api/jobs/"


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def api(alice):
    client = Client()
    client.force_login(alice)

    def post(body):
        return client.post(URL, body, content_type="application/json")

    return post


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"action": "explode", "file_ids": [1]}, "Unknown action"),
        ({"action": "trash"}, "No files selected"),
        ({"action": "trash", "file_ids": []}, "No files selected"),
        ({"action": "trash", "file_ids": [1], "folder_id": 1}, "not both"),
        ({"action": "trash", "file_ids": ["abc"]}, "list of integers"),
        ({"action": "trash", "file_ids": [99999999999999999999]}, "whole numbers from 1 to"),  # > 64 bits
        ({"action": "trash", "file_ids": [1, -5]}, "whole numbers from 1 to"),
        ({"action": "trash", "file_ids": [True]}, "list of integers"),
    ],
)
def test_malformed_requests_are_400(api, body, error):
    response = api(body)
    assert response.status_code == 400
    assert error in response.json()["error"]


@pytest.mark.django_db
def test_none_of_the_callers_eligible_files_is_400(api, alice, make_user):
    bob = make_user("bob")
    bobs = make_files(bob, 2)
    bobs_folder = create_folder(bob.pk, None, "Bob")
    make_files(bob, 2, folder=bobs_folder)
    mine = make_files(alice, 1, names=["mine.jpg"])
    for body in (
        {"action": "trash", "file_ids": [f.pk for f in bobs]},  # someone else's ids: not revealed
        {"action": "trash", "folder_id": bobs_folder.pk},
        {"action": "trash", "file_ids": [99_999_999]},
        {"action": "restore", "file_ids": [mine[0].pk]},  # live, so nothing to restore
        {"action": "delete", "file_ids": [mine[0].pk]},
    ):
        response = api(body)
        assert response.status_code == 400, body
        assert response.json() == {"error": "None of the selected files can be used for this action."}
    trash(alice.pk, [mine[0].pk])
    assert api({"action": "move", "file_ids": [mine[0].pk], "target_folder_id": None}).status_code == 400


@pytest.mark.django_db
def test_invalid_arguments_are_400(api, alice, make_user):
    files = make_files(alice, 2)
    ids = [f.pk for f in files]
    bobs_folder = create_folder(make_user("bob").pk, None, "Bob")
    cases = [
        ({"action": "move", "file_ids": ids}, "Choose a target folder"),
        ({"action": "copy", "file_ids": ids, "target_folder_id": bobs_folder.pk}, "does not exist"),
        ({"action": "move", "file_ids": ids, "target_folder_id": 99_999_999}, "does not exist"),
        ({"action": "rename", "file_ids": ids}, "Enter a name pattern"),
        ({"action": "rename", "file_ids": ids, "pattern": "same.jpg"}, "every file gets the same name"),
        ({"action": "rename", "file_ids": ids, "pattern": "{n.__class__}"}, "Unknown field"),
        ({"action": "rename", "file_ids": ids, "pattern": "{n:{n}}"}, "zero-padded width"),
        ({"action": "rename", "file_ids": ids, "name": "one.jpg"}, "give a pattern for several"),
    ]
    for body, error in cases:
        response = api(body)
        assert response.status_code == 400, body
        assert error in response.json()["error"], (body, response.json())
    assert not MediaFile.objects.filter(owner=alice, trashed_at__isnull=False).exists()


@pytest.mark.django_db
def test_anonymous_is_refused(alice):
    response = Client().post(URL, {"action": "trash", "file_ids": [1]}, content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_session_post_without_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    files = make_files(alice, 1)
    response = client.post(
        URL, {"action": "trash", "file_ids": [files[0].pk]}, content_type="application/json"
    )
    assert response.status_code == 403
    assert MediaFile.objects.get(pk=files[0].pk).trashed_at is None


@pytest.mark.django_db
def test_valid_selection_is_202_with_job_and_count(api, alice, make_user):
    from jobs.models import Job

    folder = create_folder(alice.pk, None, "F")
    mine = make_files(alice, 3, folder=folder)
    bobs = make_files(make_user("bob"), 2)
    response = api({"action": "trash", "file_ids": [f.pk for f in mine + bobs]})
    assert response.status_code == 202
    body = response.json()
    assert body["file_count"] == 3  # bob's ids silently dropped
    assert body["status_url"] == f"/api/jobs/{body['job_id']}/"
    job = Job.objects.get(pk=body["job_id"])
    assert (job.owner_id, job.kind, job.total) == (alice.pk, "trash", 3)
    response = api({"action": "rename", "folder_id": folder.pk, "pattern": "trip-{n:03}{ext}"})
    assert response.status_code == 202 and response.json()["file_count"] == 3
    assert Job.objects.get(pk=response.json()["job_id"]).params == {"pattern": "trip-{n:03}{ext}"}
    response = api({"action": "move", "folder_id": folder.pk, "target_folder_id": None})
    assert response.status_code == 202
    assert Job.objects.get(pk=response.json()["job_id"]).params == {"target_folder_id": None}


def wait_for_job(client, status_url, timeout=60):
    """Poll the job's status until it leaves queued/running (a condition with a deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        if status["status"] not in ("queued", "running"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"job still {status['status']} after {timeout} s: {status}")


@pytest.mark.django_db(transaction=True)
def test_submitted_trash_job_runs_on_the_worker(celery_worker, alice):
    client = Client()
    client.force_login(alice)
    folder = create_folder(alice.pk, None, "F")
    make_files(alice, 1_200, folder=folder)  # three chunks of 500
    response = client.post(URL, {"action": "trash", "folder_id": folder.pk}, content_type="application/json")
    assert response.status_code == 202 and response.json()["file_count"] == 1_200
    status = wait_for_job(client, response.json()["status_url"])
    assert (status["status"], status["done"], status["failed"]) == ("succeeded", 1_200, 0), status
    assert MediaFile.objects.filter(owner=alice, trashed_at__isnull=False).count() == 1_200


@pytest.mark.django_db(transaction=True)
def test_rename_job_numbers_across_chunks_and_copy_job_makes_one_copy_each(celery_worker, alice):
    client = Client()
    client.force_login(alice)
    folder = create_folder(alice.pk, None, "Trip")
    copies = create_folder(alice.pk, None, "Copies")
    make_files(alice, 1_100, folder=folder)
    body = {"action": "rename", "folder_id": folder.pk, "pattern": "trip-{n:04}{ext}"}
    response = client.post(URL, body, content_type="application/json")
    assert wait_for_job(client, response.json()["status_url"])["status"] == "succeeded"
    names = list(MediaFile.objects.filter(folder=folder).order_by("name").values_list("name", flat=True))
    assert names == [f"trip-{n:04}.jpg" for n in range(1, 1_101)]  # {n} runs on across chunks
    body = {"action": "copy", "folder_id": folder.pk, "target_folder_id": copies.pk}
    response = client.post(URL, body, content_type="application/json")
    status = wait_for_job(client, response.json()["status_url"])
    assert (status["status"], status["done"]) == ("succeeded", 1_100), status
    copied = MediaFile.objects.filter(folder=copies)
    assert copied.count() == 1_100
    assert copied.values("copied_from").distinct().count() == 1_100  # exactly one copy of each
    assert copied.filter(copy_key=response.json()["job_id"]).count() == 1_100


@pytest.mark.django_db
def test_empty_trash_is_an_api_action_over_the_whole_trash(api, alice, make_user):
    from jobs.models import Job

    files = make_files(alice, 4)
    trash(alice.pk, [f.pk for f in files[:3]])
    make_files(make_user("bob"), 2, trashed=True)
    response = api({"action": "empty_trash"})  # no selection: the whole trash, whatever is ticked
    assert response.status_code == 202 and response.json()["file_count"] == 3
    job = Job.objects.get(pk=response.json()["job_id"])
    assert (job.kind, job.run_after is not None) == ("empty_trash", True)  # with the undo window


@pytest.mark.django_db
def test_token_and_session_callers_submit_as_themselves(alice):
    from jobs.models import Job
    from media_library.api.tokens import create_api_token

    files = make_files(alice, 2)
    _token, key = create_api_token(alice)
    response = Client(enforce_csrf_checks=True).post(
        URL, {"action": "trash", "file_ids": [files[0].pk]}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )  # fmt: skip
    assert response.status_code == 202
    status_url = response.json()["status_url"]
    assert Job.objects.get(pk=response.json()["job_id"]).owner_id == alice.pk
    assert Client().get(status_url, HTTP_AUTHORIZATION=f"Bearer {key}").json()["total"] == 1
    session = Client()
    session.force_login(alice)
    assert session.get(status_url).json()["total"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_script_submits_100000_ids_in_one_request_and_a_worker_finishes_the_job(
    celery_worker, alice, make_user
):
    import tracemalloc

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support.page_rows import make_files as make_many

    folder = create_folder(alice.pk, None, "Big")
    make_many(alice, 100_000, folder=folder)
    mine = list(MediaFile.objects.filter(owner=alice).values_list("id", flat=True))
    make_many(make_user("bob"), 10, prefix="bob")
    theirs = list(MediaFile.objects.exclude(owner=alice).values_list("id", flat=True))
    client = Client()
    client.force_login(alice)
    body = {"action": "trash", "file_ids": [*reversed(mine), *theirs, 9_999_999_999]}
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(URL, body, content_type="application/json")
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 202, response.content[:300]
    assert response.json()["file_count"] == 100_000  # bob's ids and the unknown one dropped
    assert len(queries) < 30  # set-based: never a query per id
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MB"  # ids, not 100,000 model objects
    status = wait_for_job(client, response.json()["status_url"], timeout=180)
    assert (status["status"], status["done"], status["failed"]) == ("succeeded", 100_000, 0), status
    assert MediaFile.objects.filter(owner=alice).trashed().count() == 100_000
    assert not MediaFile.objects.exclude(owner=alice).trashed().exists()
