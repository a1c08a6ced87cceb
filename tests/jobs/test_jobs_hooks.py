"""The engine's hooks for kinds that build a result (an archive): ChunkOutcome.commit, chunks given
by the caller, JobKind.retryable, result_link and byte_progress on the card and the API."""

import re

import pytest
from django.test import Client

from jobs import runner
from jobs.lifecycle import finish_with_result
from jobs.models import Job, JobChunk
from jobs.progress import render_card
from jobs.selectors import awaiting_result
from jobs.services import cancel_job, retry_failed, submit

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.services  # the test kind counts commits in Redis
def test_commit_runs_in_the_transaction_that_records_the_chunk(make_user, test_kinds):
    job = submit("test.committed", make_user(), range(1, 21), params={"fail_commit_times": 1})
    # The commit failed: nothing of the chunk is recorded, and it waits for its retry.
    assert runner.run_chunk(job.pk, 0, 1) == runner.RETRYING
    chunk = JobChunk.objects.get(job=job, index=0)
    job.refresh_from_db()
    assert (chunk.status, job.done) == ("queued", 0)
    assert test_kinds.effects(job.pk) == {}  # the commit's own write went with the rollback
    assert runner.run_chunk(job.pk, 0, 1) == runner.RECORDED  # the retry
    assert runner.run_chunk(job.pk, 1, 1) == runner.RETRYING
    assert runner.run_chunk(job.pk, 1, 1) == runner.FINISHED
    assert runner.run_chunk(job.pk, 1, 1) == runner.SKIPPED
    job.refresh_from_db()
    assert (job.status, job.done) == ("succeeded", 20)
    assert test_kinds.effects(job.pk) == {i: 1 for i in range(1, 21)}


def test_commit_never_runs_for_a_delivery_that_lost_the_race(make_user, test_kinds):
    job = submit("test.committed", make_user(), range(1, 11), params={"recorded_meanwhile": True})
    assert runner.run_chunk(job.pk, 0, 1) == runner.SKIPPED  # another delivery recorded it first
    assert test_kinds.effects(job.pk) == {}


def test_chunks_given_by_the_caller_are_kept(make_user, test_kinds):
    groups = [[5, 1, 2], [], [2, 9], list(range(100, 125))]  # 2 is already in the first chunk
    job = submit("test.record", make_user(), iter(groups), chunked=True)
    chunks = list(JobChunk.objects.filter(job=job).order_by("index").values_list("index", "offset", "ids"))
    assert chunks == [(0, 0, [5, 1, 2]), (1, 3, [9]), (2, 4, list(range(100, 125)))]
    assert (job.total, job.chunk_count) == (29, 3)  # a group is one chunk, whatever its size
    with pytest.raises(ValueError, match="integers"):
        submit("test.record", make_user(), [[1], ["x"]], chunked=True)


@pytest.mark.services  # the test kind counts commits in Redis
def test_a_kind_that_is_not_retryable_offers_no_retry(make_user, test_kinds):
    user = make_user()
    job = submit("test.committed", user, range(1, 6), params={"fail_ids": [3]})
    runner.run_chunk(job.pk, 0, 1)
    job.refresh_from_db()
    assert (job.status, job.failed) == ("partial", 1)
    assert "job-retry" not in render_card(job)
    with pytest.raises(ValueError, match="cannot be retried"):
        retry_failed(job, user)
    assert logged_in(user).post(f"/api/jobs/{job.pk}/retry/").status_code == 409
    assert Job.objects.count() == 1
    other = submit("test.record", user, [1, 2], params={"fail_ids": [2]})
    runner.run_chunk(other.pk, 0, 1)
    other.refresh_from_db()
    assert "job-retry" in render_card(other)  # retryable kinds keep the button


@pytest.mark.services  # the test kind counts commits in Redis
def test_card_and_api_show_the_kinds_bytes_and_result(make_user, test_kinds):
    user = make_user()
    job = submit("test.committed", user, range(1, 21))
    runner.run_chunk(job.pk, 0, 1)
    job.refresh_from_db()
    running = render_card(job)
    assert '<span class="job-bytes">· 10.0\xa0KB of 20.0\xa0KB</span>' in running
    assert re.search(r'class="job-rate">· [\d.]+\xa0[KMG]?B/s<', running)  # bytes per second
    assert "job-result" not in running  # no result while it runs
    runner.run_chunk(job.pk, 1, 1)
    job.refresh_from_db()
    done = render_card(job)
    assert '<a class="job-download" href="/result/' in done and "Get &lt;it&gt;" in done
    assert f'data-result="/result/{job.pk}/"' in done
    body = logged_in(user).get(f"/api/jobs/{job.pk}/").json()
    assert body["download_url"] == f"/result/{job.pk}/"
    page = logged_in(user).get(f"/jobs/{job.pk}/").content.decode()  # the job page renders it too
    assert '<a class="job-download"' in page


@pytest.mark.services  # the test kind counts commits in Redis
def test_a_failing_hook_never_breaks_the_card(make_user, test_kinds, caplog):
    job = submit("test.committed", make_user(), range(1, 3), params={"link_fails": True})
    runner.run_chunk(job.pk, 0, 1)
    job.refresh_from_db()
    card = render_card(job)
    assert 'data-status="succeeded"' in card and "job-result" not in card
    assert "the link hook broke" in caplog.text


def test_a_kind_that_makes_its_result_later_keeps_the_job_running_until_then(
    make_user, test_kinds, django_capture_on_commit_callbacks
):
    user = make_user()
    done, failing, cancelled = (submit("test.result_later", user, range(1, 21)) for _ in range(3))
    for job in (done, failing, cancelled):
        with django_capture_on_commit_callbacks(execute=True):
            runner.run_chunk(job.pk, 0, 1)
            runner.run_chunk(job.pk, 1, 1)
        job.refresh_from_db()
        assert (job.status, job.done, job.finished) == ("running", 20, None)  # not final without its result
    assert test_kinds.RESULTS_ASKED[-3:] == [str(done.pk), str(failing.pk), str(cancelled.pk)]
    ids = [done.pk, failing.pk, cancelled.pk]
    assert set(awaiting_result(Job.objects.filter(pk__in=ids))) == {done, failing, cancelled}
    assert logged_in(user).get(f"/api/jobs/{done.pk}/").json()["status"] == "running"

    assert finish_with_result(done.pk) == "succeeded"
    assert finish_with_result(failing.pk, error="the result could not be made") == "failed"
    cancel_job(cancelled, user)  # nothing is left to run: cancelled at once
    assert finish_with_result(cancelled.pk) == "cancelled"  # a late result does not count
    assert not awaiting_result(Job.objects.filter(pk__in=ids)).exists()
    failing.refresh_from_db()
    assert failing.error == "the result could not be made" and failing.finished is not None
