"""The broker is down when a job is submitted, cancelled or retried: the request still answers
(202/201/200, never 500), the job waits in the database, and the sweep sends it once the broker is
back, exactly once. Web and worker processes here use a broker of their own, stopped on purpose."""

import json
import urllib.request

import pytest
from django.utils import timezone

from devtools.processes import (
    start_celery_worker,
    start_daphne,
    start_redis_server,
    stop_process,
    wait_until,
)
from jobs.models import Job, JobChunk
from media_library.api.tokens import create_api_token
from media_library.folders import create_folder
from media_library.models import MediaFile
from tests.support.chunks import deliver, handed_out
from tests.support.library_rows import make_files

pytestmark = pytest.mark.django_db(transaction=True)


def api(base_url, key, path, body=None):
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")[:500]


def test_requests_answer_while_the_broker_is_down_and_the_sweep_sends_the_job_later(
    test_kinds, make_user, test_database_url, service_logs, tmp_path
):
    broker_url, broker = start_redis_server(tmp_path / "broker")
    port = int(broker_url.rsplit(":", 1)[1].split("/")[0])
    web_proc = worker = None
    try:
        web, web_proc = start_daphne(
            test_database_url, service_logs / "daphne-own-broker.log", env={"CELERY_BROKER_URL": broker_url}
        )
        owner = make_user()
        _token, key = create_api_token(owner)
        folder = create_folder(owner.pk, None, "Trip")
        make_files(owner, 30, folder=folder)
        partial = handed_out(owner, range(1, 11), params={"fail_ids": [3, 4]})
        assert deliver(partial, 0, 1) == "finished"  # a finished job with two failed items
        stop_process(broker)  # the broker goes away

        status, body = api(web, key, "/api/jobs/", {"action": "trash", "folder_id": folder.pk})
        assert status == 202, body
        status, retry = api(web, key, f"/api/jobs/{partial.pk}/retry/")
        assert status == 201, retry
        status, cancelled = api(web, key, f"/api/jobs/{retry['id']}/cancel/")
        assert status == 200 and cancelled["status"] == "cancelled", cancelled

        job = Job.objects.get(pk=body["job_id"])
        assert job.status == "queued" and job.dispatched is not None
        # The send failed, so the chunk's lease was ended at once: the next sweep sends it.
        assert not JobChunk.objects.filter(job=job, lease_until__gt=timezone.now()).exists()
        assert MediaFile.objects.filter(owner=owner, trashed_at__isnull=False).count() == 0

        _url, broker = start_redis_server(tmp_path / "broker", port=port)  # the broker is back
        # A worker that starts sweeps first: the waiting job is sent, once.
        worker = start_celery_worker(
            test_database_url, service_logs / "worker-own-broker.log", broker_url=broker_url
        )

        def finished():
            job.refresh_from_db()
            return job.finished is not None

        wait_until(finished, 60, "the job sent after the broker came back", worker)
        assert (job.status, job.done, job.failed) == ("succeeded", 30, 0)
        assert Job.objects.filter(owner=owner, kind="trash").count() == 1  # no second copy
        assert MediaFile.objects.filter(owner=owner, trashed_at__isnull=False).count() == 30
        assert Job.objects.get(pk=retry["id"]).status == "cancelled"
        assert test_kinds.effects(retry["id"]) == {}
    finally:
        for proc in (worker, broker, web_proc):
            if proc is not None:
                stop_process(proc)
