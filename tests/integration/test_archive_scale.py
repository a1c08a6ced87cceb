"""An archive of 65,536 entries (more than a classic ZIP holds) built by a real worker: valid ZIP64.

The rows are made in bulk and the files are tiny (256 distinct blobs of a few bytes, each shared by
256 files, so every entry's bytes are read once per entry), which keeps the test to seconds: it
measures the per-entry cost, the path where 65,535 is a limit.
"""

import hashlib
import struct
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from media_library.actions import submit_action
from media_library.folders import create_folder
from media_library.models import Blob, MediaFile
from tests.support.archives import check_with_tools, cookie_header, http_get, wait_for_archive, zip_digests

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
