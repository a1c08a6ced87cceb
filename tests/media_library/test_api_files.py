import hashlib
import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from media_library.api.tokens import create_api_token
from media_library.ingest import ingest_uploads
from media_library.models import Blob, Folder, MediaFile
from media_library.naming import MAX_NAME_LENGTH
from tests.support import images
from tests.support.images import upload
from tests.support.multipart import post_files

pytestmark = pytest.mark.django_db

URL = "/api/files/"


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


def logged_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def bearer(user):
    _token, key = create_api_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def make_folder(owner, name, parent=None):
    folder = Folder.objects.create(
        owner=owner, name=name, parent=parent, depth=parent.depth + 1 if parent else 0
    )
    folder.path = f"{parent.path if parent else '/'}{folder.pk}/"
    folder.save()
    return folder


def test_upload_mixed_good_and_bad_files_in_one_request(alice, settings):
    settings.MAX_UPLOAD_BYTES = 60_000
    good = {
        "photo.jpg": images.jpeg_bytes(seed=1),
        "pic.png": images.png_bytes(seed=2),
        "anim.gif": images.gif_bytes(seed=3),
        "web.webp": images.webp_bytes(seed=4),
        "png-named.jpg": images.png_bytes(seed=5),  # a real PNG with the wrong extension is fine
    }
    bad = {
        "cut.jpg": (images.truncated_jpeg(), "The image is truncated or corrupt."),
        "broken.png": (images.corrupt_png(), "The image is truncated or corrupt."),
        "notes.jpg": (
            images.TEXT_BYTES,
            "Not a supported image: only JPEG, PNG, WebP and GIF files are accepted.",
        ),
        "noise.png": (
            images.random_bytes(),
            "Not a supported image: only JPEG, PNG, WebP and GIF files are accepted.",
        ),
        "empty.jpg": (b"", "The file is empty."),
        "bomb.png": (
            images.decompression_bomb_png(),
            "The image has too many pixels (the limit is 80,000,000 pixels).",
        ),
        "huge.png": (
            images.png_bytes(200, 200, seed=6),
            "The file is larger than the upload limit of 60000 bytes.",
        ),
    }
    files = []
    for (good_name, good_data), (bad_name, (bad_data, _message)) in zip(
        good.items(), bad.items(), strict=False
    ):
        files += [(bad_name, bad_data), (good_name, good_data)]
    files += [(name, data) for name, (data, _message) in list(bad.items())[len(good) :]]

    response = post_files(logged_in(alice), URL, files, HTTP_X_CSRFTOKEN="unused")
    # force_login clients do not enforce CSRF; that is tested separately.
    assert response.status_code == 201, response.content
    body = response.json()
    assert {item["name"]: item["error"] for item in body["errors"]} == {
        name: message for name, (_data, message) in bad.items()
    }
    stored = {item["name"]: item for item in body["files"]}
    assert set(stored) == set(good)
    # `index` is each file's position in the request, for clients to match results to files.
    assert {files[item["index"]][0] for item in body["files"] + body["errors"]} == {name for name, _ in files}
    assert sorted(item["index"] for item in body["files"] + body["errors"]) == list(range(len(files)))
    for name, data in good.items():
        item = stored[name]
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["size"] == len(data)
        assert (item["width"], item["height"], item["folder_id"], item["duplicate"]) == (64, 48, None, False)
    assert set(MediaFile.objects.filter(owner=alice).values_list("name", flat=True)) == set(good)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("..\\..\\boot.ini.png", "boot.ini.png"),
        ("nul\x00byte.jpg", "nulbyte.jpg"),
        ("evil\u202egpj.exe.jpg", "evilgpj.exe.jpg"),
        ("zero\u200bwidth.jpg", "zerowidth.jpg"),
        ("Cafe\u0301.jpg", "Caf\u00e9.jpg"),
        # Django refuses a part whose headers exceed 1 KB, so the API sees at most ~900 characters;
        # 1,000-character names are tested on ingest itself (tests/media_library/test_ingest.py).
        ("x" * 900 + ".jpg", "x" * (MAX_NAME_LENGTH - 4) + ".jpg"),
        ("new\r\nline.jpg", "newline.jpg"),
    ],
    ids=["dotdot", "backslash", "nul", "rlo", "zero-width", "nfd", "900-chars", "crlf"],
)
def test_hostile_names_are_made_safe_and_good_files_stored(alice, sent, stored):
    response = post_files(
        logged_in(alice), URL, [(sent, images.jpeg_bytes(seed=9)), ("plain.jpg", images.jpeg_bytes(seed=10))]
    )
    assert response.status_code == 201, response.content
    names = [item["name"] for item in response.json()["files"]]
    assert names == [stored, "plain.jpg"]
    assert response.json()["errors"] == []
    assert MediaFile.objects.get(owner=alice, name=stored).folder is None


def test_duplicate_is_reported_per_owner_only(alice, bob):
    data = images.png_bytes(seed=20)
    first = post_files(logged_in(alice), URL, [("a.png", data)]).json()["files"][0]
    again = post_files(logged_in(alice), URL, [("b.png", data)]).json()["files"][0]
    bobs = post_files(logged_in(bob), URL, [("a.png", data)]).json()["files"][0]
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert bobs["duplicate"] is False  # never reveal that someone else has these bytes
    assert first["sha256"] == again["sha256"] == bobs["sha256"]


def test_bytes_only_another_user_holds_answer_like_never_seen_bytes(alice, bob):
    """No content-existence oracle: bob's thumbnails being made must not change alice's answer."""
    held_by_bob = images.png_bytes(seed=21)
    post_files(logged_in(bob), URL, [("b.png", held_by_bob)])
    Blob.objects.filter(sha256=hashlib.sha256(held_by_bob).hexdigest()).update(
        thumbnail_status=Blob.Thumbnail.READY  # as a worker leaves it
    )
    answers = [
        post_files(logged_in(alice), URL, [(f"{n}.png", data)]).json()
        for n, data in enumerate((held_by_bob, images.png_bytes(seed=22)))
    ]
    for body in answers:
        assert set(body) == {"files", "errors", "thumbnail_job_id"} and body["errors"] == []
        assert body["files"][0]["duplicate"] is False and body["thumbnail_job_id"]
    shapes = [
        {key: value for key, value in body["files"][0].items() if key not in {"id", "sha256", "name"}}
        for body in answers
    ]
    assert shapes[0] == shapes[1]


def test_relative_paths_build_folders_under_the_target(alice):
    target = make_folder(alice, "Target")
    files = [(f"{n}.jpg", images.jpeg_bytes(seed=30 + n)) for n in range(4)]
    paths = ["Album/2024/0.jpg", "Album/2024/1.jpg", "Album/2.jpg", ""]
    response = post_files(
        logged_in(alice),
        URL,
        files,
        fields=[("folder_id", target.pk)] + [("relative_path", p) for p in paths],
    )
    assert response.status_code == 201, response.content
    album = Folder.objects.get(owner=alice, parent=target, name="Album")
    year = Folder.objects.get(owner=alice, parent=album, name="2024")
    assert year.path == f"/{target.pk}/{album.pk}/{year.pk}/" and year.depth == 2
    assert [f["folder_id"] for f in response.json()["files"]] == [year.pk, year.pk, album.pk, target.pk]


def test_relative_paths_must_match_the_files(alice):
    response = post_files(
        logged_in(alice), URL, [("a.jpg", images.jpeg_bytes())], fields=[("relative_path", "a/a.jpg")] * 2
    )
    assert response.status_code == 400
    assert "one relative_path per file" in response.json()["error"]


def test_no_files_is_400(alice):
    response = post_files(logged_in(alice), URL, [])
    assert response.status_code == 400
    assert response.json() == {"error": "No files were sent: add one or more `files` parts."}


def test_cannot_upload_into_another_users_folder(alice, bob):
    alices = make_folder(alice, "Private")
    response = post_files(
        logged_in(bob), URL, [("a.jpg", images.jpeg_bytes())], fields=[("folder_id", alices.pk)]
    )
    assert response.status_code == 404
    assert not MediaFile.objects.exists()


def test_bearer_upload_needs_no_csrf_and_session_post_does(alice):
    data = images.jpeg_bytes(seed=40)
    strict = Client(enforce_csrf_checks=True)
    strict.get("/login/")  # sets the CSRF cookie, as any page of the site would
    token = strict.cookies["csrftoken"].value
    response = post_files(strict, URL, [("a.jpg", data)], **bearer(alice))
    assert response.status_code == 201, response.content

    strict.force_login(alice)
    response = post_files(strict, URL, [("b.jpg", data)])
    assert response.status_code == 403
    assert MediaFile.objects.filter(owner=alice).count() == 1

    response = post_files(strict, URL, [("b.jpg", data)], HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


def test_anonymous_and_bad_tokens_are_401(alice):
    create_api_token(alice)
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.get(URL).status_code == 401
    assert post_files(anonymous, URL, [("a.jpg", images.jpeg_bytes())]).status_code == 401
    for header in ["Bearer nope", "Bearer ", "Bearer mf_" + "x" * 43]:
        assert anonymous.get(URL, HTTP_AUTHORIZATION=header).status_code == 401
        assert (
            post_files(
                anonymous, URL, [("a.jpg", images.jpeg_bytes())], HTTP_AUTHORIZATION=header
            ).status_code
            == 401
        )
    assert not MediaFile.objects.exists()


def ingest_named(owner, names, folder=None):
    uploads = [upload(name, images.png_bytes(8, 8, seed=1000 + i)) for i, name in enumerate(names)]
    outcome = ingest_uploads(owner, uploads, folder=folder, thumbnails=False)
    assert not outcome.errors
    return [item.file for item in outcome.stored]


def all_pages(client, params, **extra):
    seen, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = client.get(URL, query, **extra)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += body["files"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_keyset_listing_returns_each_file_once_in_order_without_offset(alice, bob):
    folder = make_folder(alice, "Many")
    names = [f"img {n % 7}.png" for n in range(23)]  # repeats become "img 3 (2).png" and so on
    ingest_named(alice, names, folder)
    ingest_named(bob, ["img 1.png"])
    client = logged_in(alice)
    with CaptureQueriesContext(connection) as queries:
        seen, pages = all_pages(client, {"folder_id": folder.pk, "limit": 5})
    assert pages == 5
    expected = list(
        MediaFile.objects.filter(folder=folder).order_by("name", "id").values_list("id", flat=True)
    )
    assert [f["id"] for f in seen] == expected and len(expected) == 23
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)

    filtered, _pages = all_pages(client, {"folder_id": folder.pk, "q": "IMG 1", "limit": 2})
    assert [f["name"] for f in filtered] == sorted(f"img 1{s}.png" for s in ["", " (2)", " (3)", " (4)"])

    by_size, _pages = all_pages(client, {"folder_id": folder.pk, "sort": "-size", "limit": 4})
    assert len({f["id"] for f in by_size}) == 23
    assert [f["size"] for f in by_size] == sorted((f["size"] for f in by_size), reverse=True)


def test_listing_the_root_trash_and_bad_cursor(alice):
    root_files = ingest_named(alice, ["b.png", "a.png"])
    response = logged_in(alice).get(URL)
    assert [f["name"] for f in response.json()["files"]] == ["a.png", "b.png"]
    MediaFile.objects.filter(pk=root_files[0].pk).update(trashed_at="2026-01-01T00:00:00Z")
    trash = logged_in(alice).get(URL, {"trashed": "true"}).json()["files"]
    assert [f["name"] for f in trash] == ["b.png"]
    assert logged_in(alice).get(URL, {"cursor": "garbage!"}).status_code == 400
    assert logged_in(alice).get(URL, {"limit": 10_000}).status_code == 422


def test_other_users_files_and_folders_are_404(alice, bob):
    folder = make_folder(alice, "Secret")
    [secret] = ingest_named(alice, ["secret.png"], folder)
    as_bob = logged_in(bob)
    assert as_bob.get(URL, {"folder_id": folder.pk}).status_code == 404
    assert as_bob.get(f"{URL}{secret.pk}/").status_code == 404
    assert as_bob.get("/api/folders/", {"parent_id": folder.pk}).status_code == 404
    assert as_bob.get(URL).json()["files"] == []  # bob's own root is empty
    assert as_bob.get("/api/folders/").json()["folders"] == []
    own = logged_in(alice).get(f"{URL}{secret.pk}/")
    assert own.status_code == 200 and own.json()["name"] == "secret.png"
    assert own.json()["download_url"] == f"/files/{secret.pk}/download/"


def test_folders_create_and_list(alice, bob):
    client = logged_in(alice)
    first = client.post("/api/folders/", {"name": "Trip"}, content_type="application/json")
    second = client.post("/api/folders/", {"name": " Trip "}, content_type="application/json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["name"], second.json()["name"]) == ("Trip", "Trip (2)")
    trip = first.json()
    assert trip["path"] == f"/{trip['id']}/" and trip["depth"] == 0 and trip["parent_id"] is None
    child = client.post(
        "/api/folders/", {"name": "../day\u202e1", "parent_id": trip["id"]}, content_type="application/json"
    ).json()
    assert (
        child["name"] == "day1" and child["path"] == f"/{trip['id']}/{child['id']}/" and child["depth"] == 1
    )
    assert [f["name"] for f in client.get("/api/folders/").json()["folders"]] == ["Trip", "Trip (2)"]
    assert [f["name"] for f in client.get("/api/folders/", {"parent_id": trip["id"]}).json()["folders"]] == [
        "day1"
    ]
    as_bob = logged_in(bob).post(
        "/api/folders/", {"name": "intruder", "parent_id": trip["id"]}, content_type="application/json"
    )
    assert as_bob.status_code == 404


def test_openapi_document_is_valid_json_with_the_paths(alice):
    response = logged_in(alice).get("/api/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    for path in ["/api/files/", "/api/files/{file_id}/", "/api/folders/"]:
        assert path in document["paths"]
    assert set(document["paths"]["/api/files/"]) == {"get", "post"}
    upload_body = document["paths"]["/api/files/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert {"files", "folder_id", "relative_path"} <= set(upload_body["schema"]["properties"])
    assert "BearerTokenAuth" in document["components"]["securitySchemes"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
@pytest.mark.parametrize("sort", ["name", "-name", "created", "-size"])
@pytest.mark.parametrize("trashed", [False, True])
def test_listing_pages_are_served_by_an_index_without_sorting(alice, sort, trashed):
    from media_library.listing import list_files

    folder = make_folder(alice, "Indexed")
    files = ingest_named(alice, [f"1{n}.png" for n in range(3)], folder)
    if trashed:
        MediaFile.objects.filter(pk__in=[f.pk for f in files]).update(folder=None, trashed_at=timezone.now())
    args = {
        "folder_id": None if trashed else folder.pk,
        "trashed": trashed,
        "q": "1" if sort == "name" else "",
    }
    _page, cursor = list_files(alice.pk, sort=sort, limit=1, **args)
    assert cursor is not None
    with CaptureQueriesContext(connection) as queries:
        list_files(alice.pk, sort=sort, cursor=cursor, limit=1, **args)
    [query] = queries.captured_queries
    with connection.cursor() as cursor_:
        cursor_.execute("EXPLAIN QUERY PLAN " + query["sql"])
        plan = " / ".join(row[-1] for row in cursor_.fetchall())
    assert "TEMP B-TREE" not in plan, plan
    # The page starts with a seek into the index, not a scan of the folder from its first row.
    column = {"name": "name", "created": "created", "size": "size"}[sort.lstrip("-")]
    assert re.search(rf"USING INDEX file_\w+ \(owner_id=\? AND folder_id=\? AND {column}[<>]\?\)", plan), plan
