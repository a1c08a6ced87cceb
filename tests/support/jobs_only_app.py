"""`jobs` in a project of its own: only Django's contrib apps, `jobs` and a toy kind, no JOBS_*
setting. Run as its own pytest session with tests/support/jobs_only_settings.py (by
tests/jobs/test_jobs_standalone.py): nothing of the product is importable-by-accident here.

A job is submitted, its card rendered, its pages fetched, and its progress followed over a real
websocket on the real channel layer (the test session's Redis).
"""

import logging
import sys

import pytest
from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model

import jobs
from jobs import runner
from jobs.progress import render_card
from jobs.registry import ChunkOutcome, JobKind, register
from jobs.routing import socket_url, websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

register(
    JobKind(
        name="toy.count",
        label="Count things",
        handler=lambda ctx: ChunkOutcome(done=len(ctx.ids)),
        success_message="{done} of {total} counted",
    )
)


@pytest.fixture
def user(client):
    user = get_user_model().objects.create_user("someone", password="x")
    client.force_login(user)
    return user


def test_no_jobs_setting_is_set():
    assert not [name for name in dir(settings) if name.startswith(("JOBS_", "JOB_"))]


def test_a_submitted_job_publishes_its_card_without_an_error(user, caplog):
    with caplog.at_level(logging.ERROR, logger="jobs"):
        job = jobs.submit("toy.count", user, range(1, 51))  # publishes its first card on commit
    assert [record.getMessage() for record in caplog.records] == []
    card = render_card(job, oob=False)
    assert f'id="job-{job.pk}"' in card and "Count things" in card and 'data-status="queued"' in card


def test_the_job_pages_render(user, client):
    job = jobs.submit("toy.count", user, range(1, 51))
    listing = client.get("/jobs/")
    assert listing.status_code == 200, listing.content[:2000]
    page = listing.content.decode()
    assert job.get_absolute_url() in page and "Count things" in page
    assert f'ws-connect="{socket_url()}"' in page  # the panel follows jobs.routing's socket
    detail = client.get(f"/jobs/{job.pk}/")
    assert detail.status_code == 200, detail.content[:2000]
    assert f'id="job-{job.pk}"' in detail.content.decode()


def test_the_websocket_follows_a_job_to_its_end(user, client):
    job = jobs.submit("toy.count", user, range(1, 51))
    application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def follow():
        socket = WebsocketCommunicator(application, socket_url(), headers=[(b"cookie", cookie.encode())])
        connected, _ = await socket.connect(timeout=10)
        assert connected
        snapshot = await socket.receive_from(timeout=10)  # the panel's list, as the job is now
        assert f'id="job-{job.pk}"' in snapshot and 'data-status="queued"' in snapshot
        assert "data-finished" not in snapshot
        outcome = await database_sync_to_async(runner.run_chunk)(job.pk, 0, 1)
        update = await socket.receive_from(timeout=10)  # pushed by the engine through Redis
        await socket.disconnect()
        return outcome, update

    outcome, update = async_to_sync(follow)()
    assert outcome == runner.FINISHED
    assert f'id="job-{job.pk}"' in update and 'hx-swap-oob="true"' in update
    assert 'data-status="succeeded"' in update and "data-finished" in update and "50 of 50 counted" in update


def test_nothing_of_the_product_was_imported():
    assert not {name.split(".")[0] for name in sys.modules} & {"project", "media_library"}
