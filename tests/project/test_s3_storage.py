"""MEDIA_STORAGE=s3 against a real S3 server (SeaweedFS), through Django's `default_storage`
built exactly as settings.py builds it from the environment."""

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from devtools.processes import ROOT, child_env, wait_until
from tests.support import images
from tests.support.multipart import multipart_body
from tests.support.s3_requests import S3RequestCounter

SHA = hashlib.sha256(b"the bytes").hexdigest()
BLOB_NAME = f"blobs/{SHA[:2]}/{SHA[2:4]}/{SHA}"


def test_default_storage_is_s3_with_sigv4_and_path_style(s3_storage):
    assert isinstance(s3_storage, S3Storage)
    client = s3_storage.connection.meta.client
    assert client.meta.config.signature_version == "s3v4"
    assert client.meta.config.s3["addressing_style"] == "path"


def test_save_open_exists_listdir_delete(s3_storage, seaweedfs):
    assert not s3_storage.exists(BLOB_NAME)
    assert s3_storage.save(BLOB_NAME, ContentFile(b"the bytes")) == BLOB_NAME
    # Content-addressed names: saving the same name again overwrites in place, no "_a1b2c3" copy.
    assert s3_storage.save(BLOB_NAME, ContentFile(b"the bytes")) == BLOB_NAME
    assert seaweedfs.keys("blobs/") == [BLOB_NAME]  # the exact key, seen by a plain S3 client

    assert s3_storage.exists(BLOB_NAME)
    assert s3_storage.size(BLOB_NAME) == len(b"the bytes")
    with s3_storage.open(BLOB_NAME, "rb") as handle:
        assert handle.read() == b"the bytes"
    assert s3_storage.get_modified_time(BLOB_NAME).tzinfo is not None
    # SeaweedFS keeps the (empty) directories of deleted objects, and the session's other tests
    # store and delete many blobs: another one may share this first fan-out level.
    subdirectories, files = s3_storage.listdir(f"blobs/{SHA[:2]}")
    assert SHA[2:4] in subdirectories and files == []
    assert s3_storage.listdir(f"blobs/{SHA[:2]}/{SHA[2:4]}") == ([], [SHA])

    s3_storage.delete(BLOB_NAME)
    assert not s3_storage.exists(BLOB_NAME)
    s3_storage.delete(BLOB_NAME)  # deleting twice is not an error (the product relies on it)
    with pytest.raises(FileNotFoundError):
        s3_storage.open(BLOB_NAME, "rb")
    assert seaweedfs.keys() == []


def test_requests_are_sigv4_signed_and_writes_carry_no_acl(s3_storage):
    with S3RequestCounter(s3_storage) as requests:
        s3_storage.save("thumbs/x-256.webp", ContentFile(b"webp"))
        s3_storage.exists("thumbs/x-256.webp")
    assert [operation for operation, _method, _headers in requests.sent] == ["PutObject", "HeadObject"]
    for _operation, _method, headers in requests.sent:
        authorization = headers["authorization"]
        authorization = authorization.decode() if isinstance(authorization, bytes) else authorization
        assert authorization.startswith("AWS4-HMAC-SHA256 ")
        assert "x-amz-acl" not in headers
    put_headers = requests.sent[0][2]
    assert put_headers["content-type"] in ("image/webp", b"image/webp")


def test_request_counter_counts_real_requests_by_operation(s3_storage, seaweedfs):
    with S3RequestCounter(s3_storage) as nothing:
        pass
    assert nothing.total == 0

    server_before = seaweedfs.request_totals()
    with S3RequestCounter(s3_storage) as requests:
        for n in range(3):
            s3_storage.save(f"blobs/aa/bb/{n}", ContentFile(b"%d" % n))
        assert s3_storage.exists("blobs/aa/bb/1")
        s3_storage.delete("blobs/aa/bb/2")
        s3_storage.listdir("blobs/aa/bb")
    assert requests.as_dict() == {"DeleteObject": 1, "HeadObject": 1, "ListObjects": 1, "PutObject": 3}
    assert requests.total == 6
    # The server saw them too: the counter counts requests that went out, not calls.
    server_after = seaweedfs.request_totals()
    assert server_after["PUT"] - server_before["PUT"] == 3
    assert server_after["DELETE"] - server_before["DELETE"] == 1


def test_presigned_get_url_works_with_plain_urllib(s3_storage):
    s3_storage.save(BLOB_NAME, ContentFile(b"the bytes"))
    url = s3_storage.url(
        BLOB_NAME,
        parameters={
            "ResponseContentDisposition": 'attachment; filename="photo.jpg"',
            "ResponseContentType": "image/jpeg",
        },
        expire=120,
    )
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["120"]
    with urllib.request.urlopen(url, timeout=10) as response:  # no credentials: the URL is the key
        assert response.read() == b"the bytes"
        assert response.headers["Content-Disposition"] == 'attachment; filename="photo.jpg"'
        assert response.headers["Content-Type"] == "image/jpeg"

    tampered = url.replace(SHA, SHA[::-1])  # another object, same signature
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    assert refused.value.code == 403
    default_expiry = parse_qs(urlsplit(s3_storage.url(BLOB_NAME)).query)["X-Amz-Expires"]
    assert default_expiry == ["300"]  # AWS_QUERYSTRING_EXPIRE's default: short-lived links


def _probe(seaweedfs, size_mb, **env):
    """Run tests/support/s3_memory_probe.py in a fresh process configured like a host would be."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.s3_memory_probe", str(size_mb)],
        cwd=ROOT, env={**child_env("sqlite://:memory:"), **seaweedfs.env, **env},
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_20_mb_object_is_streamed_not_held_in_memory(seaweedfs):
    shipped = _probe(seaweedfs, 20)
    assert shipped["intact"] and shipped["saved_as"].startswith("probe/")
    assert shipped["read_spilled_to_disk"] is True  # past AWS_S3_MAX_MEMORY_SIZE the buffer is a file
    assert shipped["save_growth_mb"] < 6, shipped
    assert shipped["read_growth_mb"] < 8, shipped

    # The same probe with the read buffer unbounded shows the whole object in memory: the
    # measurement does see a 20 MB object held in RAM, so the numbers above mean something.
    unbounded = _probe(seaweedfs, 20, AWS_S3_MAX_MEMORY_SIZE=str(1024**3))
    assert unbounded["intact"] and unbounded["read_spilled_to_disk"] is False
    assert unbounded["read_growth_mb"] >= 18, unbounded


@pytest.mark.django_db(transaction=True)
def test_upload_through_daphne_and_thumbnails_by_a_worker_keep_every_byte_in_the_bucket(
    s3_storage, seaweedfs, s3_live_server_url, only_s3_worker, make_user
):
    from media_library.api.tokens import create_api_token
    from media_library.models import Blob

    _token, key = create_api_token(make_user())
    photos = [(f"p{n}.jpg", images.jpeg_bytes(320, 240, seed=500 + n)) for n in range(3)]
    body, content_type = multipart_body([("files", name, data) for name, data in photos])
    request = urllib.request.Request(
        f"{s3_live_server_url}/api/files/", data=body, method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
        uploaded = json.loads(response.read())
    shas = [item["sha256"] for item in uploaded["files"]]
    assert shas == [hashlib.sha256(data).hexdigest() for _name, data in photos]

    def all_ready():
        return Blob.objects.filter(sha256__in=shas, thumbnail_status=Blob.Thumbnail.READY).count() == 3

    wait_until(all_ready, 90, "thumbnails made by the S3 worker", only_s3_worker)
    expected = set()
    for sha in shas:
        fan_out = f"{sha[:2]}/{sha[2:4]}/{sha}"
        expected |= {f"blobs/{fan_out}", f"thumbs/{fan_out}-256.webp", f"thumbs/{fan_out}-1024.webp"}
    assert set(seaweedfs.keys()) == expected
    # The services' MEDIA_ROOT (the session's local media dir) never saw these bytes.
    local_media = Path(os.environ["MEDIA_ROOT"])
    assert not [name for name in expected if (local_media / name).exists()]

    first = uploaded["files"][0]
    download = urllib.request.Request(
        f"{s3_live_server_url}/files/{first['id']}/download/", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(download, timeout=30) as response:  # follows a redirect, if any
        assert response.read() == photos[0][1]
