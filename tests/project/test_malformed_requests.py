"""Requests Django cannot read: a 400/413 with a reason (JSON on the API, a page for the browser),
never a 500 — whatever DEBUG says — and nothing stored."""

import json

import pytest
from django.test import Client

from media_library.api.tokens import create_api_token
from media_library.models import MediaFile
from tests.support import images
from tests.support.multipart import multipart_body

pytestmark = pytest.mark.django_db

UPLOAD = "/api/files/"


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def token(make_user):
    _token, key = create_api_token(make_user("alice"))
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def post(body, content_type, url=UPLOAD, client=None, **extra):
    return (client or Client()).generic("POST", url, body, content_type=content_type, **extra)


def assert_refused(response, status, *words):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    for word in words:
        assert word in error
    assert MediaFile.objects.count() == 0


def test_multipart_without_a_boundary(debug, token):
    assert_refused(post(b"whatever", "multipart/form-data", **token), 400, "could not be read")


def test_a_part_whose_headers_pass_djangos_1kb_limit(debug, token):
    body, content_type = multipart_body([("files", "x" * 2000 + ".png", images.png_bytes(seed=1))])
    assert_refused(post(body, content_type, **token), 400, "name is too long")


def test_more_files_than_allowed(debug, token, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [("files", f"{n}.png", images.png_bytes(seed=n)) for n in range(5)]
    body, content_type = multipart_body(files)
    assert_refused(post(body, content_type, **token), 400, "Too many files", "at most 3")


def test_more_fields_than_allowed(debug, token, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = [("relative_path", f"dir/{n}.png") for n in range(10)]
    body, content_type = multipart_body([("files", "a.png", images.png_bytes(seed=1))], fields)
    assert_refused(post(body, content_type, **token), 400, "Too many form fields")


def test_a_json_body_over_the_memory_limit(debug, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"action": "trash", "file_ids": list(range(5000))})
    assert_refused(post(body, "application/json", url="/api/jobs/", **token), 413, "too large")


def test_a_logged_in_browser_upload_gets_the_same_json_answer(debug, make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("bob"))
    client.get("/library/upload/")  # sets the CSRF cookie, as the upload page does
    csrf = client.cookies["csrftoken"].value
    response = post(b"--nope", "multipart/form-data", client=client, HTTP_X_CSRFTOKEN=csrf)
    assert_refused(response, 400, "could not be read")


def test_a_page_form_that_cannot_be_read_gets_a_readable_page(debug, make_user):
    client = Client()
    client.force_login(make_user("carol"))
    response = post(b"--nope", "multipart/form-data", url="/library/actions/confirm/", client=client)
    assert response.status_code == 400
    assert b"The request could not be read" in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db(transaction=True)
def test_the_real_web_server_answers_malformed_multipart_with_json(live_server_url, token):
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "multipart/form-data", "Authorization": token["HTTP_AUTHORIZATION"]}
    request = urllib.request.Request(f"{live_server_url}{UPLOAD}", data=b"--x\r\n", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 400
    assert "could not be read" in json.loads(answer.value.read())["error"]


def get(url, headers=None):
    """(status, JSON error) of a GET on the real web server."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=20) as answer:
            return answer.status, None
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read()).get("error")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("length", [20_000, 400_000])
def test_a_request_line_over_16_kb_is_answered_414(live_server_url, length):
    status, error = get(f"{live_server_url}{UPLOAD}?q={'a' * length}")
    assert status == 414 and "16 KB" in error
    assert get(f"{live_server_url}{UPLOAD}?q={'a' * 8000}")[0] == 401  # under the limit: served


@pytest.mark.django_db(transaction=True)
def test_request_headers_over_16_kb_are_answered_431(live_server_url):
    status, error = get(f"{live_server_url}{UPLOAD}", {"X-Long": "a" * 20_000})
    assert status == 431 and "header" in error
    status, error = get(f"{live_server_url}{UPLOAD}", {f"X-Part-{n}": "a" * 1000 for n in range(20)})
    assert status == 431 and "16 KB in all" in error
    status, error = get(f"{live_server_url}{UPLOAD}", {f"X-{n}": "" for n in range(600)})
    assert status == 431 and "at most 500 headers" in error
