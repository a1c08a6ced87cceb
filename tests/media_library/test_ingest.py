import hashlib
import io
import os
import tracemalloc
import warnings

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from PIL import Image

from media_library.folders import directory_parts
from media_library.ingest import (
    NamePlanner,
    RejectedUpload,
    Rejection,
    ingest_uploads,
    insert_blob,
    inspect_upload,
    request_thumbnails,
    store_inspected,
    verify_image,
)
from media_library.models import Blob, Folder, MediaFile
from media_library.storage import blob_name
from tests.support import images
from tests.support.images import upload


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_allowed_format_is_recognised_whatever_the_extension(fmt):
    data = images.image_bytes(fmt, width=40, height=30, seed=7)
    inspected = inspect_upload(upload("wrong-extension.txt", data))
    assert (inspected.format, inspected.width, inspected.height) == (fmt, 40, 30)
    assert inspected.sha256 == hashlib.sha256(data).hexdigest()
    assert inspected.size == len(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (images.truncated_jpeg(), "truncated or corrupt"),
        (images.truncated_png(), "truncated or corrupt"),
        (images.truncated(images.webp_bytes(256, 256)), "truncated or corrupt"),
        (images.truncated(images.gif_bytes(256, 256)), "truncated or corrupt"),
        (images.corrupt_png(), "truncated or corrupt"),
        (images.TEXT_BYTES, "Not a supported image"),
        (images.HTML_BYTES, "Not a supported image"),
        (images.random_bytes(), "Not a supported image"),
        (images.encode(images.noise_image(), "BMP"), "Not a supported image"),
        (images.decompression_bomb_png(), "too many pixels"),
        (b"", "The file is empty."),
    ],
    ids=[
        "jpeg-cut",
        "png-cut",
        "webp-cut",
        "gif-cut",
        "png-crc",
        "text",
        "html",
        "random",
        "bmp",
        "bomb",
        "empty",
    ],
)
def test_bad_files_are_rejected_with_a_reason(data, message):
    with pytest.raises(RejectedUpload, match=message):
        inspect_upload(upload("photo.jpg", data))


def test_decompression_bomb_is_small_on_disk():
    assert len(images.decompression_bomb_png()) < 200


@pytest.mark.parametrize("warning_action", ["error", "ignore"])
def test_pillow_bomb_warning_zone_is_an_error_too(settings, warning_action):
    # Between MAX_IMAGE_PIXELS and twice that Pillow only warns; ingest refuses whether the
    # process turns the warning into an error (as ingest does at import) or ignores it.
    settings.MAX_IMAGE_PIXELS = 1000
    warnings.simplefilter(warning_action, Image.DecompressionBombWarning)  # pytest restores filters
    with pytest.raises(RejectedUpload, match="too many pixels"):
        verify_image(io.BytesIO(images.png_bytes(40, 40)))  # 1,600 pixels
    with pytest.raises(RejectedUpload, match="too many pixels"):
        verify_image(io.BytesIO(images.png_bytes(100, 100)))  # over twice: Pillow's error
    assert verify_image(io.BytesIO(images.png_bytes(30, 30))) == ("PNG", 30, 30)


def test_oversize_is_rejected_by_the_setting(settings):
    data = images.png_bytes(64, 64)
    settings.MAX_UPLOAD_BYTES = len(data) - 1
    with pytest.raises(RejectedUpload, match="larger than the upload limit"):
        inspect_upload(upload("big.png", data))
    settings.MAX_UPLOAD_BYTES = len(data)
    assert inspect_upload(upload("big.png", data)).size == len(data)


def test_oversize_counts_the_bytes_read_not_the_declared_size(settings):
    data = images.png_bytes(64, 64)
    settings.MAX_UPLOAD_BYTES = 100
    liar = upload("liar.png", data)
    liar.size = 10  # a client-declared size is not trusted
    with pytest.raises(RejectedUpload, match="larger than the upload limit"):
        inspect_upload(liar)


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("Trip/day 1/img.jpg", ["Trip", "day 1"]),
        ("img.jpg", []),
        ("", []),
        (None, []),
        ("../../etc/img.jpg", ["etc"]),
        ("/abs/olute/img.jpg", ["abs", "olute"]),
        ("a//./b\\c/img.jpg", ["a", "b", "c"]),
        ("nul\x00dir/rlo\u202egpj/img.jpg", ["nuldir", "rlogpj"]),
        ("Cafe\u0301/img.jpg", ["Caf\u00e9"]),
    ],
)
def test_directory_parts_are_neutralised(path, parts):
    assert directory_parts(path) == parts


@pytest.mark.django_db
def test_ingest_stores_bytes_blob_and_file(make_user):
    owner = make_user()
    data = images.jpeg_bytes(seed=1)
    outcome = ingest_uploads(owner, [upload("a.jpg", data)])
    assert outcome.errors == []
    [item] = outcome.stored
    assert not item.duplicate
    blob = Blob.objects.get()
    assert (blob.sha256, blob.size, blob.format, blob.width, blob.height) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
        "JPEG",
        64,
        48,
    )
    with default_storage.open(blob.storage_name) as stored:
        assert stored.read() == data
    assert item.file.name == "a.jpg" and item.file.folder is None and item.file.size == len(data)


@pytest.mark.django_db
def test_a_1000_character_name_is_bounded_keeping_its_extension(make_user):
    outcome = ingest_uploads(
        make_user(), [upload("n" * 1000 + ".webp", images.webp_bytes())], thumbnails=False
    )
    assert outcome.stored[0].file.name == "n" * 250 + ".webp"


@pytest.mark.django_db
def test_same_bytes_share_one_blob_and_duplicate_is_per_owner(make_user):
    alice, bob = make_user(), make_user()
    data = images.png_bytes(seed=2)
    first = ingest_uploads(alice, [upload("x.png", data)]).stored[0]
    again = ingest_uploads(alice, [upload("x.png", data)]).stored[0]
    bobs = ingest_uploads(bob, [upload("x.png", data)]).stored[0]
    assert Blob.objects.count() == 1
    assert (first.duplicate, again.duplicate, bobs.duplicate) == (False, True, False)
    assert again.file.name == "x (2).png"  # a second live file of the same name is renamed
    assert bobs.file.name == "x.png"


@pytest.mark.django_db
def test_missing_bytes_of_a_known_blob_are_written_again(make_user):
    owner = make_user()
    data = images.gif_bytes(seed=3)
    ingest_uploads(owner, [upload("g.gif", data)])
    name = blob_name(hashlib.sha256(data).hexdigest())
    default_storage.delete(name)
    ingest_uploads(owner, [upload("g.gif", data)])
    assert default_storage.exists(name)


@pytest.mark.django_db
def test_relative_paths_recreate_folders_and_reuse_existing(make_user):
    owner = make_user()
    base = Folder.objects.create(owner=owner, name="Uploads")
    base.path = f"/{base.pk}/"
    base.save()
    uploads = [upload(f"{n}.png", images.png_bytes(seed=10 + n)) for n in range(4)]
    paths = ["Trip/day1/0.png", "Trip/day1/1.png", "Trip/2.png", "../../3.png"]
    outcome = ingest_uploads(owner, uploads, folder=base, relative_paths=paths)
    assert outcome.errors == []
    trip = Folder.objects.get(owner=owner, parent=base, name="Trip")
    day1 = Folder.objects.get(owner=owner, parent=trip, name="day1")
    assert (trip.path, trip.depth) == (f"/{base.pk}/{trip.pk}/", 1)
    assert (day1.path, day1.depth) == (f"/{base.pk}/{trip.pk}/{day1.pk}/", 2)
    assert [f.folder_id for f in (item.file for item in outcome.stored)] == [
        day1.pk,
        day1.pk,
        trip.pk,
        base.pk,
    ]
    # A second folder upload reuses the folders instead of making "Trip (2)".
    ingest_uploads(
        owner, [upload("4.png", images.png_bytes(seed=14))], folder=base, relative_paths=["Trip/4.png"]
    )
    assert Folder.objects.filter(owner=owner).count() == 3
    assert MediaFile.objects.filter(folder=trip).count() == 2


@pytest.mark.django_db
def test_one_bad_file_never_fails_the_others(make_user, settings):
    owner = make_user()
    good = [upload("ok1.jpg", images.jpeg_bytes(seed=21)), upload("ok2.webp", images.webp_bytes(seed=22))]
    bad = [upload("cut.jpg", images.truncated_jpeg()), upload("empty.png", b"")]
    outcome = ingest_uploads(owner, [bad[0], good[0], bad[1], good[1]])
    assert [item.file.name for item in outcome.stored] == ["ok1.jpg", "ok2.webp"]
    assert [(r.index, r.name) for r in outcome.errors] == [(0, "cut.jpg"), (2, "empty.png")]
    assert [item.index for item in outcome.stored] == [1, 3]
    assert MediaFile.objects.filter(owner=owner).count() == 2


@pytest.mark.django_db
def test_name_taken_by_a_concurrent_request_is_retried(make_user):
    owner = make_user()
    data = images.png_bytes(seed=30)
    inspected = inspect_upload(upload("race.png", data))
    planner = NamePlanner(owner)
    planner.next_name(None, "warmup.png")  # the planner now caches the root's taken names
    # Another request stores "race.png" after our planner looked: the insert conflicts once.
    other = ingest_uploads(owner, [upload("race.png", images.png_bytes(seed=31))]).stored[0]
    assert other.file.name == "race.png"
    mine = store_inspected(owner, None, "race.png", upload("race.png", data), inspected, planner)
    assert mine.file.name == "race (2).png"


@pytest.mark.django_db
def test_blob_row_created_concurrently_is_shared(make_user):
    inspected = inspect_upload(upload("a.png", images.png_bytes(seed=40)))
    first, first_existed = insert_blob(inspected)
    # A second request that saw no row and inserts too gets the winner's row, no crash.
    second, second_existed = insert_blob(inspected)
    assert (first_existed, second_existed) == (False, True)
    assert first.pk == second.pk and Blob.objects.count() == 1


def test_request_thumbnails_without_ids_is_nothing():
    assert request_thumbnails(None, []) is None


def test_ingest_of_a_10mb_file_streams_it(tmp_path):
    """Peak Python memory while hashing and verifying a 10 MB upload stays far below its size."""
    data = images.large_png_bytes(10 * 1024 * 1024)
    assert len(data) > 10 * 1024 * 1024
    temp = TemporaryUploadedFile("big.png", "image/png", len(data), None)
    temp.write(data)
    temp.flush()
    size = len(data)
    del data
    tracemalloc.start()
    try:
        inspected = inspect_upload(temp)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        temp.close()
    assert inspected.size == size and inspected.format == "PNG"
    assert peak < 1024 * 1024, f"peak {peak} bytes while ingesting a {size}-byte file"


@pytest.mark.django_db
def test_storing_a_10mb_temporary_upload_stays_bounded(make_user):
    owner = make_user()
    data = images.large_png_bytes(10 * 1024 * 1024, seed=5)
    temp = TemporaryUploadedFile("big.png", "image/png", len(data), None)
    temp.write(data)
    temp.flush()
    sha = hashlib.sha256(data).hexdigest()
    del data
    tracemalloc.start()
    try:
        outcome = ingest_uploads(owner, [temp], thumbnails=False)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        temp.close()
    assert outcome.errors == [] and outcome.stored[0].file.blob.sha256 == sha
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes"
    assert default_storage.size(blob_name(sha)) == outcome.stored[0].file.size


@pytest.mark.django_db
def test_a_storage_failure_loses_that_file_only(make_user):
    owner = make_user()
    fine = images.png_bytes(seed=51)
    fine_sha = hashlib.sha256(fine).hexdigest()
    # A plain file where the blob's directory must go: the storage cannot write there. The
    # session's storage holds other tests' blobs, so pick an image whose directory is not there yet.
    for seed in range(50, 5000, 2):
        doomed = images.png_bytes(seed=seed)
        doomed_sha = hashlib.sha256(doomed).hexdigest()
        blocker = default_storage.path(f"blobs/{doomed_sha[:2]}/{doomed_sha[2:4]}")
        if not os.path.exists(blocker) and doomed_sha[:4] != fine_sha[:4]:
            break
    os.makedirs(os.path.dirname(blocker), exist_ok=True)
    with open(blocker, "w") as handle:
        handle.write("in the way")
    try:
        outcome = ingest_uploads(
            owner, [upload("doomed.png", doomed), upload("fine.png", fine)], thumbnails=False
        )
    finally:
        os.remove(blocker)
    assert outcome.errors == [Rejection(0, "doomed.png", "The file could not be stored; please try again.")]
    assert [item.file.name for item in outcome.stored] == ["fine.png"]
    assert not Blob.objects.filter(sha256=doomed_sha).exists()  # no row without its bytes
