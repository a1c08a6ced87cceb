"""Live progress over the real websocket (daphne + channels-redis) from a real worker."""

import time

import pytest
from django.test import Client

from devtools.job_cards import cards, follow_job
from devtools.processes import wait_until
from devtools.websocket import open_socket
from jobs.models import Job
from jobs.progress import group_send, publish_job, user_group
from jobs.services import submit

pytestmark = pytest.mark.django_db(transaction=True)


def test_progress_fragments_never_go_back_and_end_succeeded(
    celery_worker, live_server_url, test_kinds, make_user, session_cookie
):
    user = make_user()
    with open_socket(live_server_url, session_cookie(user)) as ws:
        job = submit("test.record", user, range(1, 301), params={"chunk_size": 10, "sleep": 0.05})
        states = follow_job(ws, job.pk)
    dones = [s["done"] for s in states]
    assert len([d for d in dones if 0 < d < 300]) >= 2, dones  # several intermediate fragments
    assert dones == sorted(dones)  # data-done never decreases
    assert len(dones) < 30 + 2  # throttled: not one message per chunk (~4/s)
    assert states[-1]["status"] == "succeeded" and states[-1]["done"] == 300 and states[-1]["total"] == 300
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("succeeded", 300, 0)


def test_an_update_the_throttle_dropped_is_sent_when_the_interval_ends(
    celery_worker, live_server_url, test_kinds, make_user, session_cookie
):
    """A card the throttle drops is not lost until the next chunk ends: the worker sends the
    job's current card when the interval is over (trailing edge), here while a chunk runs on."""
    from jobs.progress import _redis

    user = make_user()
    with open_socket(live_server_url, session_cookie(user)) as ws:
        # One 6 s chunk of a non-atomic kind (it holds no database lock while it works).
        job = submit("test.non_atomic", user, range(1, 11), params={"sleep": 6})
        follow = [state for job_id, state in cards(ws.recv(timeout=10)) if job_id == str(job.pk)]
        assert follow and follow[-1]["done"] == 0
        # A card was "just sent" (the throttle is closed) when progress moves on: this update is
        # dropped, and nothing else would publish before the chunk ends.
        _redis().set(f"jobs:progress:{job.pk}", 1, px=250)
        Job.objects.filter(pk=job.pk).update(done=7)
        assert publish_job(job.pk) is False
        # The worker's own "running" card (rendered before the update) may come first; wait for 7.
        states, deadline = [], time.monotonic() + 5
        while not any(state["done"] == 7 for state in states):
            message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            states += [state for job_id, state in cards(message) if job_id == str(job.pk)]
        assert states[-1]["done"] == 7 and states[-1]["status"] in ("queued", "running"), states
        job.refresh_from_db()
        assert job.finished is None  # sent while the chunk still runs, not with the final card


def test_reconnect_gets_a_snapshot_with_the_true_final_state(
    celery_worker, live_server_url, test_kinds, make_user, session_cookie
):
    """htmx-ws replays nothing after a reconnect: the snapshot on connect brings the truth."""
    user = make_user()
    cookie = session_cookie(user)
    with open_socket(live_server_url, cookie) as ws:
        job = submit("test.record", user, range(1, 101), params={"chunk_size": 10, "sleep": 0.05})
        first = [c for c in cards(ws.recv(timeout=10)) if c[0] == str(job.pk)]
        assert first and first[0][1]["status"] in ("queued", "running")
    # Offline while the job finishes: every progress message of that time is lost.
    wait_until(lambda: Job.objects.get(pk=job.pk).finished is not None, 30, "job to finish")
    with open_socket(live_server_url, cookie) as ws:
        snapshot = dict(cards(ws.recv(timeout=10)))
    assert snapshot[str(job.pk)]["status"] == "succeeded"
    assert snapshot[str(job.pk)]["done"] == 100


def test_stale_card_arriving_after_the_final_one_is_dropped(
    celery_worker, live_server_url, test_kinds, make_user, session_cookie
):
    """Cards from two worker processes can cross in flight; a socket never moves backwards."""
    from jobs.progress import job_event

    user = make_user()
    with open_socket(live_server_url, session_cookie(user)) as ws:
        job = submit("test.record", user, range(1, 21), params={"chunk_size": 10})
        follow_job(ws, job.pk)
        stale = Job.objects.get(pk=job.pk)
        stale.status, stale.done = "running", 10  # what an earlier, overtaken event looked like
        fresh_marker = '<p id="marker">after</p>'
        group_send(user_group(user.pk), job_event(stale))
        group_send(user_group(user.pk), {"type": "job.update", "html": fresh_marker})
        assert ws.recv(timeout=10) == fresh_marker  # the stale card was never delivered


def test_a_preparing_card_crossing_the_download_card_is_dropped(
    celery_worker, live_server_url, make_user, session_cookie
):
    """A finished ZIP job's card is sent twice from two processes: the job's final card (rendered
    while the ZIP is still being assembled) and the assembler's (with the link). Crossed in flight,
    the older one must not take the link away (seen in CI: the card stayed "Preparing the ZIP…")."""
    from jobs.progress import job_event
    from media_library.actions import submit_action
    from media_library.folders import create_folder
    from media_library.models import Archive
    from tests.support.archives import image_file, wait_for_archive

    user = make_user()
    folder = create_folder(user.pk, None, "Crossed")
    image_file(user, folder, "a.jpg", 901)
    with open_socket(live_server_url, session_cookie(user)) as ws:
        job, _ = submit_action(user, "archive", {"scope": "all", "folder_id": folder.pk})
        wait_for_archive(job)
        ready = job_event(Job.objects.get(pk=job.pk))
        # The job's own final card, as its worker rendered it before the assembly finished.
        Archive.objects.filter(job=job).update(status=Archive.Status.BUILDING)
        preparing = job_event(Job.objects.get(pk=job.pk))
        Archive.objects.filter(job=job).update(status=Archive.Status.READY)
        assert "job-download" in ready["html"] and "job-download" not in preparing["html"]
        group_send(user_group(user.pk), ready)
        group_send(user_group(user.pk), preparing)
        marker = '<p id="marker">after</p>'
        group_send(user_group(user.pk), {"type": "job.update", "html": marker})
        received = []
        while (message := ws.recv(timeout=10)) != marker:
            received.append(message)
    assert [("job-download" in message) for message in received if str(job.pk) in message][-1:] == [True]


def test_user_b_sees_nothing_of_user_a(celery_worker, live_server_url, test_kinds, make_user, session_cookie):
    alice, bob = make_user("alice"), make_user("bob")
    with open_socket(live_server_url, session_cookie(bob)) as bob_ws:
        with open_socket(live_server_url, session_cookie(alice)) as alice_ws:
            job = submit("test.record", alice, range(1, 41), params={"chunk_size": 10, "sleep": 0.05})
            follow_job(alice_ws, job.pk)
        with pytest.raises(TimeoutError):
            bob_ws.recv(timeout=0.5)  # no snapshot (bob has no jobs) and none of alice's events
    with open_socket(live_server_url, session_cookie(bob)) as bob_ws, pytest.raises(TimeoutError):
        bob_ws.recv(timeout=0.5)  # a fresh connect's snapshot holds only bob's own jobs

    client = Client()
    client.force_login(bob)
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 404
    assert client.post(f"/jobs/{job.pk}/retry/").status_code == 404
    assert client.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 404
    assert client.post(f"/api/jobs/{job.pk}/retry/").status_code == 404
    assert str(job.pk) not in client.get("/jobs/").content.decode()
    owner = Client()
    owner.force_login(alice)
    body = owner.get(f"/api/jobs/{job.pk}/").json()
    assert body["status"] == "succeeded" and body["done"] == 40


def test_an_idle_page_still_receives_progress(
    celery_worker, live_server_url, test_kinds, make_user, session_cookie
):
    """channels-redis blocks 5 s per receive; the socket must outlive idle periods longer than that."""

    user = make_user()
    with open_socket(live_server_url, session_cookie(user)) as ws:
        time.sleep(6.5)  # idle on purpose: nothing to wait for but the clock
        job = submit("test.record", user, [1, 2, 3])
        assert follow_job(ws, job.pk)[-1]["status"] == "succeeded"


def test_staff_follow_maintenance_jobs_live_and_others_do_not(
    live_server_url, test_kinds, make_user, session_cookie
):
    """A staff-only kind (e.g. the trash purge, owned by a system user that never logs in) is shown
    to every staff member, live as on the jobs pages; other users see nothing of it."""
    system = make_user("system", is_staff=True, is_active=False)
    operator, someone = make_user("operator", is_staff=True), make_user("someone")
    staff_socket = open_socket(live_server_url, session_cookie(operator))
    with staff_socket as staff_ws, open_socket(live_server_url, session_cookie(someone)) as other_ws:
        job = submit("test.staff", system, [1, 2, 3])
        assert str(job.pk) in dict(cards(staff_ws.recv(timeout=10)))
        publish_job(job.pk, force=True)
        assert str(job.pk) in dict(cards(staff_ws.recv(timeout=10)))
        with pytest.raises(TimeoutError):
            other_ws.recv(timeout=0.5)
