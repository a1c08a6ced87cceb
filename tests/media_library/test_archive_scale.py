"""An archive of 65,536 entries (more than a classic ZIP holds) built by a real worker: valid ZIP64.

The rows are made in bulk and the files are tiny (256 distinct blobs of a few bytes, each shared by
256 files, so every entry's bytes are read once per entry), which keeps the test to seconds: it
measures the per-entry cost, the path where 65,535 is a limit.
"""

import hashlib
import io
import struct
import time
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from jobs.models import Job
from media_library.actions import submit_action
from media_library.folders import create_folder
from media_library.models import ArchivePart, Blob, MediaFile
from tests.support.archives import (
    check_with_tools,
    cookie_header,
    http_get,
    stored_archive_bytes,
    wait_for_archive,
    zip_digests,
)

pytestmark = pytest.mark.django_db(transaction=True)

ENTRIES = 65_536


def tiny_blobs(count):
    blobs = []
    for n in range(count):
        data = f"tiny file {n}\n".encode()
        sha = hashlib.sha256(data).hexdigest()
        blob = Blob.objects.create(sha256=sha, size=len(data), format="PNG", width=1, height=1)
        default_storage.save(blob.storage_name, ContentFile(data))
        blobs.append(blob)
    return blobs


def test_65536_entries_make_a_valid_zip64_archive(
    celery_worker, live_server_url, make_user, session_cookie, tmp_path, capsys
):
    owner = make_user()
    folder = create_folder(owner.pk, None, "Many")
    blobs = tiny_blobs(256)
    MediaFile.objects.bulk_create(
        (
            MediaFile(
                owner=owner,
                folder=folder,
                name=f"t{n:05d}.png",
                blob=blobs[n % 256],
                size=blobs[n % 256].size,
            )
            for n in range(ENTRIES)
        ),
        batch_size=2000,
    )
    started = time.monotonic()
    job, count = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    submitted = time.monotonic()
    assert count == ENTRIES and job.chunk_count == 66
    archive = wait_for_archive(job, timeout=240)
    built = time.monotonic()
    status, headers, body = http_get(
        live_server_url, f"/archives/{job.pk}/download/", cookie_header(session_cookie(owner))
    )
    assert status == 200 and int(headers["content-length"]) == len(body) == archive.size
    path = tmp_path / "many.zip"
    path.write_bytes(body)

    # The ZIP64 end of central directory record and its locator are there, before the classic end
    # record, which says "see ZIP64" in its 16-bit entry counts.
    end = body[-22:]
    assert end[:4] == b"PK\x05\x06" and struct.unpack("<HH", end[8:12]) == (0xFFFF, 0xFFFF)
    locator = body[-42:-22]
    assert locator[:4] == b"PK\x06\x07"
    (zip64_end_offset,) = struct.unpack("<Q", locator[8:16])
    assert body[zip64_end_offset : zip64_end_offset + 4] == b"PK\x06\x06"
    assert struct.unpack("<QQ", body[zip64_end_offset + 24 : zip64_end_offset + 40]) == (ENTRIES, ENTRIES)

    digests = zip_digests(path)
    assert len(digests) == ENTRIES
    expected = {f"t{n:05d}.png": blobs[n % 256].sha256 for n in range(ENTRIES)}
    assert digests == expected
    assert len(check_with_tools(path)) == ENTRIES
    with capsys.disabled():
        checks = time.monotonic() - built
        print(
            f"\n65,536 entries: submit {submitted - started:.1f} s, worker build + assembly "
            f"{built - submitted:.1f} s, archive {len(body) / 1e6:.1f} MB, checks {checks:.1f} s"
        )


def test_a_selection_of_100000_files_through_the_api(celery_worker, make_user, capsys):
    """100,000 ticked ids in one POST /api/jobs/: planned in the request with bounded memory (the
    rows stream; what is held is one directory's names), built by the worker into a valid ZIP."""
    owner = make_user()
    folders = [create_folder(owner.pk, None, f"F{n}") for n in range(4)]
    blobs = tiny_blobs(64)
    for start in range(0, 100_000, 20_000):
        MediaFile.objects.bulk_create(
            (
                # The same names in every folder: flattened, three of every four get " (n)".
                MediaFile(owner=owner, folder=folders[n % 4], name=f"s{n // 4:05d}.png", blob=blobs[n % 64],
                          size=blobs[n % 64].size)
                for n in range(start, start + 20_000)
            ),
            batch_size=2000,
        )  # fmt: skip
    ids = list(MediaFile.objects.filter(owner=owner).values_list("id", flat=True))
    client = Client()
    client.force_login(owner)
    tracemalloc.start()
    started = time.monotonic()
    response = client.post(
        "/api/jobs/", {"action": "archive", "file_ids": ids}, content_type="application/json"
    )
    submitted = time.monotonic() - started
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 202 and response.json()["file_count"] == 100_000
    job = Job.objects.get(pk=response.json()["job_id"])
    assert job.chunk_count == 100 and ArchivePart.objects.filter(archive__job=job).count() == 100
    archive = wait_for_archive(job, timeout=300)
    built = time.monotonic() - started
    data = stored_archive_bytes(archive)
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        names = zipped.namelist()
        assert len(names) == 100_000 and len(set(names)) == 100_000
        assert zipped.read(names[-1]) in {f"tiny file {n}\n".encode() for n in range(64)}
    assert peak < 120 * 1024 * 1024, f"planning held {peak / 1e6:.0f} MB"
    with capsys.disabled():
        print(
            f"\n100,000 ids: POST (planning in the request, under tracemalloc) {submitted:.1f} s, Python peak"
            f" {peak / 1e6:.0f} MB (the request's 100,000 ids included), ready {built:.1f} s after the POST"
        )
