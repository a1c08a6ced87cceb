"""Exactly one archive however its chunks and its assembly are delivered, killed or repeated.

Deterministic, in this process (the worker's code without a worker): an attempt that dies in the
middle of writing its part, a duplicate delivery, an assembly that fails half way and is retried,
a dead assembler's lease, a lost on_finish message, a cancelled job.
"""

import errno
import hashlib
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from jobs import lifecycle, runner
from jobs.models import Job, JobChunk
from jobs.progress import render_card
from jobs.registry import ChunkContext
from jobs.services import cancel_job
from media_library import storage
from media_library.actions import submit_action
from media_library.api.tokens import create_api_token
from media_library.archives import assembly, building
from media_library.archives.expiry import stalled_archives
from media_library.folders import create_folder
from media_library.models import Archive, ArchivePart
from tests.support.archives import (
    archive_object_files,
    build_in_process,
    image_file,
    read_zip_bytes,
    stored_archive_bytes,
)

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for SIGKILL in the middle of a chunk: nothing after it runs, nothing is recorded."""


@pytest.fixture
def thirty(make_user, settings):
    settings.ARCHIVE_CHUNK_FILES = 10
    owner = make_user()
    folder = create_folder(owner.pk, None, "Thirty")
    files = [image_file(owner, folder, f"p{n:02d}.jpg", 700 + n) for n in range(30)]
    job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    assert job.chunk_count == 3
    return job, files


def stored_files(job):
    try:
        return sorted(default_storage.listdir(storage.archive_directory(job.pk))[1])
    except FileNotFoundError:
        return []


def context(job, index):
    chunk = JobChunk.objects.get(job=job, index=index)
    return ChunkContext(
        job_id=str(job.pk), owner_id=job.owner_id, kind=job.kind, ids=list(chunk.ids), params=job.params,
        chunk_index=index, offset=chunk.offset,
    )  # fmt: skip


def assert_exact_archive(archive, files):
    data = stored_archive_bytes(archive)
    zipped = read_zip_bytes(data)
    assert zipped.testzip() is None
    assert sorted(zipped.namelist()) == sorted(f.name for f in files)
    for media_file in files:
        assert hashlib.sha256(zipped.read(media_file.name)).hexdigest() == media_file.blob.sha256
    assert archive.size == len(data) and archive.entry_count == len(files)


def test_a_chunk_killed_mid_write_retried_and_delivered_twice_still_makes_one_valid_zip(thirty, monkeypatch):
    job, files = thirty
    real_open = storage.open_blob_blocks
    opened = []

    def dies_on_the_fifth_file(sha256):
        opened.append(sha256)
        if len(opened) == 5:
            raise WorkerKilled
        return real_open(sha256)

    monkeypatch.setattr(storage, "open_blob_blocks", dies_on_the_fifth_file)
    with pytest.raises(WorkerKilled):
        runner.run_chunk(job.pk, 1, 1)  # four entries of its part written, then the worker "dies"
    monkeypatch.setattr(storage, "open_blob_blocks", real_open)
    dead_part = stored_files(job)
    assert len(dead_part) == 1 and default_storage.size(f"{storage.archive_directory(job.pk)}/{dead_part[0]}")
    assert not ArchivePart.objects.get(archive__job=job, index=1).object_name  # nothing recorded

    # The redelivery (after the dead worker's lease) rebuilds the part, into a new object.
    JobChunk.objects.filter(job=job, index=1).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert runner.run_chunk(job.pk, 1, 1) == runner.RECORDED
    # A duplicate delivery that raced it wrote a part too, but its record found the chunk done.
    loser = building.build_part(context(job, 1))
    assert runner.run_chunk(job.pk, 1, 1) == runner.SKIPPED
    for index in (0, 2):
        runner.run_chunk(job.pk, index, 1)
    assert len(stored_files(job)) == 5  # 3 recorded parts, the dead one, the loser's
    assert loser.commit is not None  # never called: the engine only commits a recorded chunk

    job.refresh_from_db()
    archive = Archive.objects.get(job=job)
    assert (job.status, job.done, job.failed) == ("running", 30, 0)  # until its ZIP is assembled
    assert archive.bytes_done == archive.bytes_total == sum(f.size for f in files)
    assert assembly.finish_archive(archive.pk) == "ready"
    archive.refresh_from_db()
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert_exact_archive(archive, files)
    assert stored_files(job) == archive_object_files(archive)  # 3 parts + the tail; the rest is gone
    assert len(archive.stored_objects) == 4
    assert not ArchivePart.objects.filter(archive=archive).exists()
    assert assembly.finish_archive(archive.pk) == "not claimed"  # once ready, it stays as it is


class FillsUp:
    """A writable stored file whose disk fills up after `room` bytes."""

    def __init__(self, inner, room):
        self.inner, self.room = inner, room

    def write(self, data):
        if self.room < len(data):
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        self.room -= len(data)
        return self.inner.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.inner.close()


def test_an_assembly_that_fails_half_way_gives_its_claim_back_and_the_retry_succeeds(thirty, monkeypatch):
    job, files = thirty
    for index in range(3):
        runner.run_chunk(job.pk, index, 1)
    archive = Archive.objects.get(job=job)
    real_open = storage.open_for_writing
    monkeypatch.setattr(storage, "open_for_writing", lambda name: FillsUp(real_open(name), room=1000))
    with pytest.raises(OSError, match="No space"):
        assembly.finish_archive(archive.pk)  # the tail was half written when the disk filled up
    archive.refresh_from_db()
    assert (archive.status, archive.attempts) == ("building", 1) and "No space" in archive.error
    assert len(stored_files(job)) == 3  # the half-written tail is gone, the parts are kept
    monkeypatch.setattr(storage, "open_for_writing", real_open)
    assert assembly.finish_archive(archive.pk) == "ready"  # what the task's retry does
    archive.refresh_from_db()
    assert_exact_archive(archive, files)


def test_a_part_that_is_not_whole_in_storage_is_never_served(thirty):
    job, _files = thirty
    for index in range(3):
        runner.run_chunk(job.pk, index, 1)
    part = ArchivePart.objects.get(archive__job=job, index=1)
    with default_storage.open(part.object_name, "wb") as handle:  # lost its last bytes somehow
        handle.write(b"PK\x03\x04 truncated")
    archive = Archive.objects.get(job=job)
    with pytest.raises(OSError, match="part 1 holds 14 bytes where"):
        assembly.finish_archive(archive.pk)
    archive.refresh_from_db()
    assert archive.status == "building" and not archive.stored_objects


def test_a_live_assembler_is_left_alone_and_a_dead_ones_archive_is_taken_over(thirty):
    job, files = thirty
    for index in range(3):
        runner.run_chunk(job.pk, index, 1)
    archive = Archive.objects.get(job=job)
    later = timezone.now() + timedelta(minutes=1)
    Archive.objects.filter(pk=archive.pk).update(status="assembling", lease_token="other", lease_until=later)
    assert assembly.finish_archive(archive.pk) == "not claimed"
    assert not stalled_archives().filter(pk=archive.pk).exists()
    earlier = timezone.now() - timedelta(seconds=1)
    Archive.objects.filter(pk=archive.pk).update(lease_until=earlier)  # that assembler died
    assert stalled_archives().filter(pk=archive.pk).exists()  # the sweep sends the assembly again
    assert assembly.finish_archive(archive.pk) == "ready"
    archive.refresh_from_db()
    assert_exact_archive(archive, files)
    # The dead assembler wakes up: its claim is gone, so its lease cannot be kept.
    with pytest.raises(assembly.LostLease):
        lease = assembly.Lease(archive, "other")
        lease.renewed -= assembly.RENEW
        lease.keep()


def test_a_finished_job_whose_assembly_message_was_lost_is_found_by_the_sweep(thirty):
    job, _files = thirty
    for index in range(3):
        runner.run_chunk(
            job.pk, index, 1
        )  # make_result runs on commit; this test's transaction never commits
    archive = Archive.objects.get(job=job)
    assert archive.status == "building"
    assert not stalled_archives().filter(pk=archive.pk).exists()  # just finished: its message may come
    JobChunk.objects.filter(job=job).update(finished=timezone.now() - timedelta(minutes=3))
    assert list(stalled_archives().values_list("pk", flat=True)) == [archive.pk]
    assert assembly.finish_archive(archive.pk) == "ready"
    job.refresh_from_db()
    assert job.status == "succeeded"


def test_the_job_is_succeeded_only_once_its_zip_is_ready(thirty, make_user):
    """A client polling GET /api/jobs/<id>/ never reads `succeeded` without a download_url."""
    job, _files = thirty
    api = Client(HTTP_AUTHORIZATION=f"Bearer {create_api_token(job.owner)[1]}")

    def polled():
        body = api.get(f"/api/jobs/{job.pk}/").json()
        if body["status"] in ("succeeded", "partial"):
            assert body["download_url"], body  # final means usable
        return body

    for index in range(3):
        runner.run_chunk(job.pk, index, 1)
        assert polled()["status"] == "running"
    assert polled()["download_url"] is None
    card = render_card(Job.objects.get(pk=job.pk))
    assert "job-download" not in card
    assert "Preparing the ZIP" in card  # every item counted, the ZIP being assembled
    archive = Archive.objects.get(job=job)
    assert assembly.finish_archive(archive.pk) == "ready"
    body = polled()
    assert body["status"] == "succeeded" and body["download_url"]
    assert "job-download" in render_card(Job.objects.get(pk=job.pk))
    assert api.get(body["download_url"]).status_code == 200


def test_assembly_gives_up_after_its_attempts_and_says_so_on_the_card(thirty, monkeypatch):
    job, _files = thirty
    for index in range(3):
        runner.run_chunk(job.pk, index, 1)
    archive = Archive.objects.get(job=job)

    def broken(name):
        raise OSError("the disk is gone (simulated)")

    monkeypatch.setattr(storage, "stored_size", broken)
    for _attempt in range(assembly.MAX_ATTEMPTS):
        with pytest.raises(OSError):
            assembly.finish_archive(archive.pk)
    archive.refresh_from_db()
    assert archive.status == "failed" and archive.attempts == assembly.MAX_ATTEMPTS
    job.refresh_from_db()
    assert job.status == "failed"  # never `succeeded` without its ZIP
    assert "The ZIP could not be made: OSError: the disk is gone" in render_card(job)
    assert assembly.finish_archive(archive.pk) == "discarded"
    assert stored_files(job) == []


def test_a_cancelled_archive_job_leaves_no_bytes_and_no_link(thirty):
    job, _files = thirty
    runner.run_chunk(job.pk, 0, 1)
    assert stored_files(job)
    cancel_job(job, job.owner)
    job.refresh_from_db()
    assert job.status == "cancelled"
    archive = Archive.objects.get(job=job)
    assert assembly.finish_archive(archive.pk) == "discarded"
    archive.refresh_from_db()
    assert archive.status == "failed" and "cancelled" in archive.error
    assert stored_files(job) == [] and not ArchivePart.objects.filter(archive=archive).exists()
    assert "job-result" not in render_card(job)


def test_a_job_cancelled_while_its_zip_is_assembled_gets_no_zip(thirty):
    job, _files = thirty
    for index in range(3):
        runner.run_chunk(job.pk, index, 1)
    archive = Archive.objects.get(job=job)
    cancel_job(job, job.owner)  # the job awaits its ZIP: a cancel finishes it at once
    job.refresh_from_db()
    assert job.status == "cancelled"
    # An assembler that started before the cancel writes its tail, then finds the job over.
    assert assembly.assemble(archive) == "discarded"
    archive.refresh_from_db()
    job.refresh_from_db()
    assert archive.status == "failed" and job.status == "cancelled" and stored_files(job) == []
    assert "job-result" not in render_card(job)


def test_a_part_whose_chunk_failed_is_listed_missing_and_the_rest_is_assembled(thirty):
    job, _files = thirty
    runner.run_chunk(job.pk, 0, 1)
    lifecycle.fail_chunk(job.pk, 1, "gave up after 5 retries: storage unreachable")
    runner.run_chunk(job.pk, 2, 1)
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("running", 20, 10)  # until its ZIP is assembled
    archive = build_in_process(job)
    job.refresh_from_db()
    assert job.status == "partial"
    zipped = read_zip_bytes(stored_archive_bytes(archive))
    assert zipped.testzip() is None
    listed = zipped.read("MISSING.txt").decode().splitlines()
    assert listed[0] == "10 selected files could not be put in this archive (path, then why):"
    assert sorted(line.split("\t")[0] for line in listed[2:]) == [f"p{n:02d}.jpg" for n in range(10, 20)]
    assert len(zipped.namelist()) == 21
