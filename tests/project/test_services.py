"""The foundation on real services: Redis, a Celery worker process, daphne, the channel layer."""

import json

import pytest
from django_celery_results.models import TaskResult
from websockets.exceptions import InvalidStatus

from devtools.websocket import open_socket
from project.tasks import where_am_i

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("queue", ["interactive", "bulk"])
def test_task_on_each_queue_runs_on_worker_and_result_is_stored(celery_worker, queue):
    result = where_am_i.apply_async(queue=queue)
    value = result.get(timeout=30)
    assert value == {"routing_key": queue, "worker": celery_worker.worker_name}
    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "project.tasks.where_am_i"
    assert stored.worker == celery_worker.worker_name  # extended results are on
    assert json.loads(stored.result) == value


def test_authenticated_websocket_receives_message_sent_by_worker(
    celery_worker, live_server_url, make_user, session_cookie
):
    from tests.support.notify import notify_user

    alice, bob = make_user("alice"), make_user("bob")
    with (
        open_socket(live_server_url, session_cookie(alice)) as alice_ws,
        open_socket(live_server_url, session_cookie(bob)) as bob_ws,
    ):
        notify_user.apply_async(args=[alice.pk, '<div id="hello">from the worker</div>']).get(timeout=30)
        assert alice_ws.recv(timeout=10) == '<div id="hello">from the worker</div>'
        with pytest.raises(TimeoutError):
            bob_ws.recv(timeout=0.5)  # bob's group never gets alice's messages


def test_anonymous_websocket_is_refused(live_server_url):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(live_server_url, cookie=None)
    assert refused.value.response.status_code == 403


def test_websocket_from_foreign_origin_is_refused(live_server_url, make_user, session_cookie):
    cookie = session_cookie(make_user())
    with pytest.raises(InvalidStatus) as refused:
        open_socket(live_server_url, cookie, origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_healthz_reports_database_redis_and_worker(celery_worker, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["workers"] >= 1


def test_healthz_keeps_the_status_but_hides_what_failed_from_anonymous_callers(client, make_user, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "error"
    assert "127.0.0.1" not in response.content.decode() and "Error" not in response.content.decode()

    client.force_login(make_user(is_staff=True))
    detail = client.get("/healthz")
    assert detail.status_code == 503
    assert detail.json()["redis"].startswith("error: ConnectionError") and "9" in detail.json()["redis"]


def test_favicon_is_served_for_pages_without_an_icon_link(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[0][0].endswith("img/favicon.svg")
    assert b"<svg" in b"".join(response.streaming_content)
