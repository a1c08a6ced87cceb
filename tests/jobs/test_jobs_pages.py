"""Job pages, API and admin: owner-only, escaped, paginated by keyset."""

import re

import pytest
from django.test import Client

from devtools.processes import wait_until
from jobs import runner
from jobs.models import Job
from jobs.progress import render_card, throttle_allows
from jobs.services import submit

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_card_escapes_user_strings_and_carries_progress_attributes(make_user, test_kinds):
    job = submit("test.crash", make_user(), [1, 2])
    Job.objects.filter(pk=job.pk).update(error="<script>alert(1)</script>", done=1)
    job.refresh_from_db()
    html = render_card(job)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f'id="job-{job.pk}"' in html and 'hx-swap-oob="true"' in html
    assert 'data-status="queued"' in html and 'data-done="1"' in html and 'data-total="2"' in html
    label_html = render_card(submit("test.record", make_user(), [1]))
    assert "Test &lt;record&gt;" in label_html


@pytest.mark.services  # the throttle lives in Redis
def test_progress_throttle_is_shared_and_short(test_kinds):
    key = "throttle-test-job"
    assert throttle_allows(key)
    assert not throttle_allows(key)
    wait_until(lambda: throttle_allows(key), 2, "throttle window to pass")


def test_detail_page_shows_chunks_failures_and_buttons(make_user, test_kinds):
    user = make_user()
    job = submit("test.record", user, range(1, 11), params={"fail_ids": [5], "chunk_size": 5})
    runner.run_chunk(job.pk, 0, 1)
    runner.run_chunk(job.pk, 1, 1)
    body = logged_in(user).get(f"/jobs/{job.pk}/").content.decode()
    assert "item 5 is broken" in body and "Retry failed" in body
    assert body.count("<tr><td>") >= 2  # chunk rows
    page = logged_in(user).get("/").content.decode()
    assert f'id="job-{job.pk}"' in page and 'ws-connect="/ws/jobs/"' in page  # the panel on every page


def test_job_pages_wear_the_products_look(make_user, test_kinds):
    """templates/jobs/base.html overrides the app's jobs/base.html: the product's page, its title."""
    user = make_user()
    job = submit("test.record", user, [1])
    client = logged_in(user)
    listing = client.get("/jobs/").content.decode()
    detail = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "<title>Jobs · Mediaflow</title>" in listing
    assert "<title>Test &lt;record&gt; · Jobs · Mediaflow</title>" in detail
    for page in (listing, detail):
        assert 'class="brand" href="/"' in page
        assert "/static/css/app.css" in page and "/static/jobs/jobs.css" in page
    assert 'id="jobs-panel"' in listing
    assert 'class="jobs-socket"' in detail  # the detail page keeps its own hidden socket, no panel


def test_history_filters_and_keyset_pages(make_user, test_kinds):
    user = make_user()
    jobs = [submit("test.record", user, [i]) for i in range(1, 56)]
    other = submit("test.flaky", user, [1])
    client = logged_in(user)
    first = client.get("/jobs/", {"kind": "test.record"}).content.decode()
    ids = re.findall(r'data-job="([0-9a-f-]+)"', first)
    assert len(ids) == 50 and str(other.pk) not in ids
    cursor = re.search(r"before=([0-9a-f-]+)", first).group(1)
    second = client.get("/jobs/", {"kind": "test.record", "before": cursor}).content.decode()
    rest = re.findall(r'data-job="([0-9a-f-]+)"', second)
    assert len(rest) == 5 and not set(rest) & set(ids)
    assert set(ids) | set(rest) == {str(j.pk) for j in jobs}
    queued = client.get("/jobs/", {"status": "succeeded"}).content.decode()
    assert "data-job=" not in queued


def test_api_shape_and_owner_only(make_user, test_kinds):
    user = make_user()
    job = submit("test.record", user, [1, 2], params={"fail_ids": [2]})
    runner.run_chunk(job.pk, 0, 1)
    body = logged_in(user).get(f"/api/jobs/{job.pk}/").json()
    assert set(body) == {
        "id",
        "kind",
        "status",
        "total",
        "done",
        "failed",
        "failures",
        "created",
        "started",
        "finished",
        "download_url",
    }
    assert body["download_url"] is None  # this kind has no result to download
    assert body["failures"] == [{"item_id": 2, "reason": "item 2 is broken"}]
    assert (body["status"], body["done"], body["failed"]) == ("partial", 1, 1)
    assert logged_in(make_user()).get(f"/api/jobs/{job.pk}/").status_code == 404


def test_admin_lists_jobs_and_cancels(make_user, test_kinds):
    admin = make_user(is_staff=True, is_superuser=True)
    job = submit("test.record", make_user(), [1, 2])
    client = logged_in(admin)
    assert client.get("/admin/jobs/job/?status__exact=queued").status_code == 200
    assert client.get(f"/admin/jobs/job/{job.pk}/change/").status_code == 200
    client.post("/admin/jobs/job/", {"action": "cancel_jobs", "_selected_action": [str(job.pk)]})
    assert Job.objects.get(pk=job.pk).status == "cancelled"


def test_admin_retries_failed_items(make_user, test_kinds):
    admin = make_user(is_staff=True, is_superuser=True)
    job = submit("test.record", make_user(), [1, 2, 3], params={"fail_ids": [2]})
    runner.run_chunk(job.pk, 0, 1)
    logged_in(admin).post(
        "/admin/jobs/job/", {"action": "retry_failed_items", "_selected_action": [str(job.pk)]}
    )
    retry = Job.objects.get(retry_of=job)
    assert (retry.total, retry.owner_id) == (1, job.owner_id)


def test_expired_task_results_are_pruned_in_batches(settings):
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_results.models import TaskResult

    from jobs.results import prune_expired_results

    old = timezone.now() - timedelta(seconds=settings.CELERY_RESULT_EXPIRES + 60)
    for n in range(5):
        TaskResult.objects.create(task_id=f"old-{n}", status="SUCCESS")
    TaskResult.objects.filter(task_id__startswith="old-").update(date_done=old)
    TaskResult.objects.create(task_id="fresh", status="SUCCESS")
    assert prune_expired_results(batch_size=2) == 5
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["fresh"]
