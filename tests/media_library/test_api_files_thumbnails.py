"""Upload -> one thumbnails job -> a real Celery worker makes the renditions -> the thumb URL serves them."""

import time

import pytest
from django.test import Client

from media_library.api.tokens import create_api_token
from media_library.models import Blob
from tests.support import images
from tests.support.multipart import post_files


def wait_for(condition, timeout=60, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


@pytest.mark.django_db(transaction=True)
def test_upload_submits_one_thumbnails_job_that_a_worker_runs(make_user, celery_worker):
    owner = make_user()
    _token, key = create_api_token(owner)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    files = [("a.jpg", images.jpeg_bytes(320, 240, seed=1)), ("b.png", images.png_bytes(300, 200, seed=2))]
    response = post_files(Client(), "/api/files/", [*files, ("bad.jpg", images.TEXT_BYTES)], **auth)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["thumbnail_job_id"] and len(body["files"]) == 2 and len(body["errors"]) == 1

    shas = [item["sha256"] for item in body["files"]]
    ready = wait_for(
        lambda: Blob.objects.filter(sha256__in=shas, thumbnail_status=Blob.Thumbnail.READY).count() == 2
    )
    assert ready, list(Blob.objects.values_list("sha256", "thumbnail_status", "thumbnail_error"))
    for item in body["files"]:
        thumb = Client().get(f"/files/{item['id']}/thumb/256/", **auth)
        assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"

    # The same bytes again: nothing left to make, so no job.
    again = post_files(Client(), "/api/files/", files[:1], **auth).json()
    assert again["files"][0]["duplicate"] is True and again["thumbnail_job_id"] is None
