"""Retry failed: at most one retry of a job in flight, whoever asks and however fast; staff may
retry the maintenance jobs they can see."""

import threading

import pytest
from django.test import Client

from jobs import runner
from jobs.models import Job
from jobs.services import RetryInFlight, retry_failed, submit
from tests.support.chunks import deliver, handed_out
from tests.support.interleave import finish, in_thread


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)  # two real connections, two transactions at once
def test_two_retries_at_the_same_moment_make_one_job(make_user, test_kinds):
    owner = make_user()
    job = handed_out(owner, range(1, 21), params={"fail_ids": [3, 14]})
    deliver(job, 0, 1)
    deliver(job, 1, 1)
    job.refresh_from_db()
    assert (job.status, job.failed) == ("partial", 2)
    start = threading.Barrier(2)

    def retry():
        start.wait(10)
        try:
            return retry_failed(Job.objects.get(pk=job.pk), owner).pk
        except RetryInFlight as refused:
            return refused

    first, second = in_thread(retry), in_thread(retry)
    outcomes = [finish(*first), finish(*second)]
    refused = [o for o in outcomes if isinstance(o, RetryInFlight)]
    made = [o for o in outcomes if not isinstance(o, RetryInFlight)]
    assert len(made) == 1 and len(refused) == 1, outcomes
    assert list(Job.objects.filter(retry_of=job).values_list("pk", flat=True)) == made


@pytest.mark.django_db  # no commit: the retry stays queued, as if the second click came at once
def test_a_second_click_on_retry_failed_is_refused_while_the_first_retry_runs(make_user, test_kinds):
    owner = make_user()
    job = submit("test.record", owner, range(1, 11), params={"fail_ids": [2, 5]})
    runner.run_chunk(job.pk, 0, 1)
    client = logged_in(owner)
    assert client.post(f"/jobs/{job.pk}/retry/", HTTP_HX_REQUEST="true").status_code == 204
    again = client.post(f"/jobs/{job.pk}/retry/", HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and b"already running" in again.content
    assert client.post(f"/api/jobs/{job.pk}/retry/", content_type="application/json").status_code == 409
    assert Job.objects.filter(retry_of=job).count() == 1


@pytest.mark.django_db
def test_staff_retry_the_system_users_maintenance_job(make_user, test_kinds):
    system = make_user("system", is_staff=True, is_active=False)  # owns maintenance jobs, never logs in
    job = submit("test.staff", system, range(1, 11), params={"fail_ids": [4]})  # a staff-only kind
    runner.run_chunk(job.pk, 0, 1)
    job.refresh_from_db()
    assert (job.status, job.failed) == ("partial", 1)
    assert logged_in(make_user()).post(f"/jobs/{job.pk}/retry/").status_code == 404  # not staff: unseen
    response = logged_in(make_user("operator", is_staff=True)).post(f"/jobs/{job.pk}/retry/")
    retry = Job.objects.get(retry_of=job)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{retry.pk}/"
    assert (retry.owner_id, retry.kind, retry.total) == (system.pk, "test.staff", 1)
