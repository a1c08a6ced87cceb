"""What each operation costs on S3, in requests counted as they leave (S3RequestCounter), against
the session's real SeaweedFS; and the local-disk equivalents where the code path differs."""

import hashlib
import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from media_library import storage
from media_library.folders import create_folder
from media_library.ingest import ingest_uploads
from media_library.maintenance import orphans
from media_library.models import Blob, MediaFile
from media_library.operations.delete import delete_permanently
from media_library.operations.move_copy import copy, move
from media_library.operations.rename import rename, rename_file
from media_library.operations.trash import restore, trash
from media_library.thumbnails import ensure_thumbnails
from tests.support import images
from tests.support.images import upload
from tests.support.s3_requests import S3RequestCounter

pytestmark = pytest.mark.django_db


def stored_files(owner, count, seed=0):
    uploads = [upload(f"p{n}.jpg", images.jpeg_bytes(96, 64, seed=seed + n)) for n in range(count)]
    return [item.file for item in ingest_uploads(owner, uploads, thumbnails=False).stored]


def with_thumbnails(files):
    ensure_thumbnails(Blob.objects.filter(pk__in=[f.blob_id for f in files]))
    return files


def test_copy_move_rename_trash_restore_send_no_request(s3_storage, make_user):
    owner = make_user()
    files = with_thumbnails(stored_files(owner, 3))
    ids = [f.pk for f in files]
    folder = create_folder(owner.pk, None, "Trips")
    with S3RequestCounter(s3_storage) as requests:
        copy(owner.pk, ids, folder.pk)
        move(owner.pk, ids[:1], folder.pk)
        rename(owner.pk, ids[1:], "renamed {n}")
        rename_file(owner.pk, ids[0], "single.jpg")
        trash(owner.pk, ids)
        restore(owner.pk, ids)
    assert requests.as_dict() == {}
    assert MediaFile.objects.filter(owner=owner).count() == 6


def test_pages_send_no_request(s3_storage, make_user):
    owner = make_user()
    files = with_thumbnails(stored_files(owner, 3))
    client = Client()
    client.force_login(owner)
    with S3RequestCounter(s3_storage) as requests:
        assert client.get("/library/").status_code == 200
        assert client.get(f"/library/files/{files[0].pk}/").status_code == 200
        thumbnail = client.get(f"/files/{files[0].pk}/thumb/256/")
        download = client.get(f"/files/{files[0].pk}/download/")
    assert requests.total == 0  # no exists(), size() or HEAD: presigning is local
    assert thumbnail.status_code == download.status_code == 302


def test_permanent_delete_batches_every_key_of_every_blob_into_one_delete_objects(
    s3_storage, seaweedfs, make_user, django_capture_on_commit_callbacks
):
    owner = make_user()
    files = with_thumbnails(stored_files(owner, 5))
    shas = [f.blob.sha256 for f in files]
    assert len(seaweedfs.keys()) == 15
    trash(owner.pk, [f.pk for f in files])
    with S3RequestCounter(s3_storage) as requests, django_capture_on_commit_callbacks(execute=True):
        delete_permanently(owner.pk, [f.pk for f in files])  # the bytes go once the rows are gone
    assert requests.as_dict() == {"DeleteObjects": 1}
    assert seaweedfs.keys() == []
    assert not Blob.objects.filter(sha256__in=shas).exists()


def test_delete_objects_takes_1000_keys_per_request(s3_storage):
    names = [storage.blob_name(hashlib.sha256(b"%d" % n).hexdigest()) for n in range(2500)]
    with S3RequestCounter(s3_storage) as requests:
        assert storage.delete_stored_names(names) == 2500  # absent keys: S3 says deleted, no error
    assert requests.as_dict() == {"DeleteObjects": 3}
    assert [len(body) for body in requests.sent] == [3, 3, 3]  # (operation, method, headers)


def test_thumbnails_write_each_rendition_in_one_put(s3_storage, make_user):
    (media_file,) = stored_files(make_user(), 1)
    with S3RequestCounter(s3_storage) as requests:
        assert ensure_thumbnails([media_file.blob]) == {}
    # The source: HEAD (django-storages' open) and GET; then the renditions: one PUT each, no
    # DELETE, no exists().
    assert requests.as_dict() == {"GetObject": 1, "HeadObject": 1, "PutObject": 2}
    with S3RequestCounter(s3_storage) as again:  # forced: written over in place, same cost
        ensure_thumbnails([Blob.objects.get(pk=media_file.blob_id)], force=True)
    assert again.as_dict() == requests.as_dict()


def _seed_for_sweep(owner):
    """2 blobs with renditions, 1 without, 1 whose bytes are gone, 3 orphan blobs + 1 orphan rendition."""
    files = stored_files(owner, 4, seed=40)
    with_thumbnails(files[:2])
    gone = files[3].blob.sha256
    default_storage.delete(storage.blob_name(gone))
    orphan_shas = [hashlib.sha256(b"orphan %d" % n).hexdigest() for n in range(3)]
    for sha in orphan_shas:
        default_storage.save(storage.blob_name(sha), ContentFile(b"lost"))
    default_storage.save(storage.rendition_name(orphan_shas[0], 256), ContentFile(b"lost"))
    default_storage.save("blobs/not-a-hash", ContentFile(b"foreign"))  # skipped, never deleted
    return files, gone, orphan_shas


def _assert_swept(report, files, gone, orphan_shas):
    assert report["missing_bytes"] == [gone] and report["missing_count"] == 1
    assert report["removed"] == 4 and report["kept_in_grace"] == 0
    kept = {name for name, _modified in storage.list_stored("blobs")}
    kept |= {name for name, _modified in storage.list_stored("thumbs")}
    expected = {storage.blob_name(f.blob.sha256) for f in files[:3]} | {"blobs/not-a-hash"}
    expected |= {storage.rendition_name(f.blob.sha256, size) for f in files[:2] for size in (256, 1024)}
    assert kept == expected


def test_orphan_sweep_lists_flat_and_merge_joins_by_sha256(s3_storage, make_user, monkeypatch):
    files, gone, orphan_shas = _seed_for_sweep(make_user())
    # Small pages on both sides, so the merge join crosses page boundaries (the real sizes: 1,000).
    monkeypatch.setattr(storage.objects, "LIST_PAGE", 2)  # where list_stored reads it
    monkeypatch.setattr(orphans, "BATCH", 2)
    young = orphans.sweep()  # everything was just written: within the grace period
    assert young["removed"] == 0 and young["kept_in_grace"] == 4
    with S3RequestCounter(s3_storage) as requests:
        report = orphans.sweep(now=timezone.now() + timedelta(hours=2))
    _assert_swept(report, files, gone, orphan_shas)
    # blobs/: 7 keys in 4 pages, thumbs/: 5 keys in 3 pages; one DeleteObjects per directory for
    # its orphans; no HEAD, no per-prefix listing.
    assert requests.as_dict() == {"DeleteObjects": 2, "ListObjectsV2": 7}


def test_orphan_sweep_on_local_disk_walks_in_the_same_order(settings, tmp_path, make_user, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path)
    files, gone, orphan_shas = _seed_for_sweep(make_user())
    names = [name for name, _modified in storage.list_stored("blobs")]
    assert names == sorted(names)
    old = time.time() - 7200
    for root, _dirs, entries in os.walk(tmp_path):
        for entry in entries:
            os.utime(os.path.join(root, entry), (old, old))
    monkeypatch.setattr(orphans, "BATCH", 2)
    _assert_swept(orphans.sweep(), files, gone, orphan_shas)
