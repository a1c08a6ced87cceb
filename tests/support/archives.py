"""Archive tests: files with real image bytes, waiting for an archive, downloading and checking ZIPs.

A ZIP is checked three ways: Python's zipfile (testzip: every CRC; every entry's SHA-256), Info-ZIP
`unzip -t` and libarchive's `bsdtar` (seekable, and streaming from stdin, which reads the local
headers and data descriptors rather than the central directory). `make test` installs both.
"""

import hashlib
import http.client
import io
import shutil
import subprocess
import zipfile
from urllib.parse import urlsplit

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from devtools.processes import wait_until
from media_library.models import Archive, Blob, MediaFile
from tests.support import images


def stored_blob(data, fmt="JPEG"):
    """A Blob for `data`, its bytes in storage (the same bytes give the same blob, as uploads do)."""
    sha = hashlib.sha256(data).hexdigest()
    blob, created = Blob.objects.get_or_create(
        sha256=sha, defaults={"size": len(data), "format": fmt, "width": 64, "height": 48}
    )
    if created:
        default_storage.save(blob.storage_name, ContentFile(data))
    return blob


def image_file(owner, folder, name, seed, **extra):
    """A live file called exactly `name` (written as given: no naming rules) with real JPEG bytes."""
    blob = stored_blob(images.jpeg_bytes(seed=seed))
    return MediaFile.objects.create(owner=owner, folder=folder, name=name, blob=blob, size=blob.size, **extra)


def wait_for_archive(job, timeout=120, statuses=("ready",)):
    def settled():
        archive = Archive.objects.filter(job_id=job.pk).first()
        return archive if archive is not None and archive.status in statuses else None

    return wait_until(settled, timeout, f"archive of job {job.pk} to be {'/'.join(statuses)}")


def http_get(base_url, path, headers=None):
    """(status, headers dict with lower-case names, body) of a GET over real HTTP."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def cookie_header(session_cookie):
    from django.conf import settings

    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_cookie}"}


def zip_digests(path):
    """{entry name: SHA-256 of its bytes} after zipfile's own CRC check of every entry."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        digests = {}
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED, info
            assert info.flag_bits & 0x800, info  # UTF-8 names are flagged
            with archive.open(info) as entry:
                digest = hashlib.sha256()
                while block := entry.read(1 << 20):
                    digest.update(block)
            digests[info.filename] = digest.hexdigest()
        return digests


def check_with_tools(path):
    """unzip -t and bsdtar (seekable and streaming) accept the archive; returns bsdtar's listing."""
    for tool in ("unzip", "bsdtar"):
        assert shutil.which(tool), f"{tool} is needed (make test installs it)"
    tested = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True, check=False)
    assert tested.returncode == 0 and "No errors detected" in tested.stdout, tested.stdout + tested.stderr
    listed = subprocess.run(["bsdtar", "-tf", str(path)], capture_output=True, check=True).stdout
    with open(path, "rb") as stream:
        streamed = subprocess.run(["bsdtar", "-tf", "-"], stdin=stream, capture_output=True, check=True)
    streamed = streamed.stdout
    names = listed.decode("utf-8").splitlines()
    assert streamed.decode("utf-8").splitlines() == names
    return names


def blob_digest(media_file):
    return media_file.blob.sha256


def read_zip_bytes(data):
    return zipfile.ZipFile(io.BytesIO(data))


def build_in_process(job):
    """Run every chunk of an archive job here, then its assembly (what the worker does), for tests
    without a worker; returns the archive."""
    from jobs import runner
    from media_library.archives.assembly import finish_archive

    for index in range(job.chunk_count):
        runner.run_chunk(job.pk, index, 1)
    archive = Archive.objects.get(job_id=job.pk)
    finish_archive(archive.pk)
    archive.refresh_from_db()
    return archive


def stored_archive_bytes(archive):
    """The ZIP as the download serves it: the archive's stored objects one after another."""
    from media_library.storage import open_stored_sequence

    return b"".join(open_stored_sequence(archive.stored_objects))


def archive_object_files(archive):
    """The file names (in the job's archive directory) of the objects that make the ZIP."""
    return sorted(name.rsplit("/", 1)[1] for name, _size in archive.stored_objects)
