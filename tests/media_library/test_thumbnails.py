"""The `thumbnails` job kind's handler against the database and real stored image bytes.

The jobs engine calls the handler with a ChunkContext; here it is called directly (it is a plain
function), which is what the engine's chunk task does inside the worker.
"""

import hashlib
import io

import pytest
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from jobs.registry import ChunkContext, get_kind
from media_library import thumbnails
from media_library.kinds.thumbnails import NOT_FOUND, make_thumbnails
from media_library.models import Blob, MediaFile
from media_library.storage import rendition_name
from media_library.thumbnails import thumbnail_response
from tests.support.imaging_samples import encode, photo_like, png_claiming_size

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def restore_pillow_pixel_limit():
    """The pipeline sets Pillow's process-wide limit; don't leak a test's value into other tests."""
    before = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = before


@pytest.fixture(autouse=True)
def private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def render_calls(monkeypatch):
    """Count real renders (the wrapped function still does all the work)."""
    calls = []
    real = thumbnails.make_renditions

    def counting(blob):
        calls.append(blob.pk)
        return real(blob)

    monkeypatch.setattr(thumbnails, "make_renditions", counting)
    return calls


_counter = {"n": 0}


def store_blob(data, fmt="JPEG", size=(1, 1)):
    sha = hashlib.sha256(data).hexdigest()
    blob = Blob.objects.create(sha256=sha, size=len(data), format=fmt, width=size[0], height=size[1])
    default_storage.save(blob.storage_name, ContentFile(data))
    return blob


def jpeg_blob(width=1600, height=1200, shade=0):
    im = photo_like(width, height)
    im.paste((shade, 0, 0), (0, 0, 8, 8))  # distinct bytes per shade
    return store_blob(encode(im, "JPEG", quality=90), "JPEG", (width, height))


def add_file(owner, blob):
    _counter["n"] += 1
    return MediaFile.objects.create(owner=owner, name=f"file{_counter['n']}.jpg", blob=blob, size=blob.size)


def run(owner, files, **params):
    ids = [f if isinstance(f, int) else f.pk for f in files]
    return make_thumbnails(
        ChunkContext(
            job_id="j1", owner_id=owner.pk, kind="thumbnails", ids=ids, params=params, chunk_index=0, offset=0
        )
    )


def stored_webp(blob, size):
    with default_storage.open(rendition_name(blob.sha256, size), "rb") as handle:
        im = Image.open(io.BytesIO(handle.read()))
    assert im.format == "WEBP"
    return im


def test_kind_is_registered_for_the_bulk_queue_without_holding_a_transaction():
    kind = get_kind("thumbnails")
    assert kind.handler is make_thumbnails
    assert kind.queue == "bulk"
    assert kind.atomic is False
    assert kind.chunk_size <= 25


def test_distinct_blobs_are_rendered_once_and_copies_share_them(make_user, render_calls):
    owner = make_user()
    photo, other = jpeg_blob(shade=1), jpeg_blob(1200, 1600, shade=2)
    files = [add_file(owner, photo), add_file(owner, photo), add_file(owner, other)]  # a copy shares a blob

    outcome = run(owner, files)

    assert (outcome.done, outcome.failures) == (3, [])
    assert sorted(render_calls) == sorted([photo.pk, other.pk])
    for blob, preview_size, thumb_size in [
        (photo, (1024, 768), (256, 192)),
        (other, (768, 1024), (192, 256)),
    ]:
        blob.refresh_from_db()
        assert (blob.thumbnail_status, blob.thumbnail_error) == ("ready", "")
        assert stored_webp(blob, 1024).size == preview_size
        assert stored_webp(blob, 256).size == thumb_size


def test_ready_blobs_are_skipped_and_force_regenerates(make_user, render_calls):
    owner = make_user()
    blob = jpeg_blob(shade=3)
    files = [add_file(owner, blob), add_file(owner, blob)]
    run(owner, files)
    assert render_calls == [blob.pk]
    default_storage.delete(rendition_name(blob.sha256, 256))

    outcome = run(owner, files)  # a redelivered chunk, or the next upload of the same bytes
    assert outcome.done == 2
    assert render_calls == [blob.pk]
    assert not default_storage.exists(rendition_name(blob.sha256, 256))

    outcome = run(owner, files, force=True)  # "Regenerate thumbnails"
    assert (outcome.done, outcome.failures) == (2, [])
    assert render_calls == [blob.pk, blob.pk]
    assert stored_webp(blob, 256).size == (256, 192)


def test_other_owners_ids_are_not_acted_on(make_user, render_calls):
    owner, stranger = make_user(), make_user()
    mine = add_file(owner, jpeg_blob(800, 600, shade=4))
    theirs_blob = jpeg_blob(800, 600, shade=5)
    theirs = add_file(stranger, theirs_blob)

    outcome = run(owner, [mine, theirs, 987654])

    assert outcome.done == 1
    assert outcome.failures == [(theirs.pk, NOT_FOUND), (987654, NOT_FOUND)]
    assert render_calls == [mine.blob_id]
    theirs_blob.refresh_from_db()
    assert theirs_blob.thumbnail_status == "pending"
    assert not default_storage.exists(rendition_name(theirs_blob.sha256, 256))


def test_bad_images_fail_per_item_with_a_reason_and_get_a_placeholder(make_user):
    owner = make_user()
    good = add_file(owner, jpeg_blob(640, 480, shade=6))
    full = encode(photo_like(640, 480), "JPEG", quality=90)
    truncated = add_file(owner, store_blob(full[: len(full) // 2]))
    random_bytes = add_file(owner, store_blob(bytes(range(256)) * 16))
    bomb = add_file(owner, store_blob(png_claiming_size(100_000, 100_000), "PNG"))
    missing_blob = Blob.objects.create(sha256="f" * 64, size=10, format="JPEG", width=1, height=1)
    missing = add_file(owner, missing_blob)

    outcome = run(owner, [good, truncated, random_bytes, bomb, missing])

    assert outcome.done == 1
    reasons = dict(outcome.failures)
    assert set(reasons) == {truncated.pk, random_bytes.pk, bomb.pk, missing.pk}
    assert "truncated or corrupt" in reasons[truncated.pk]
    assert "not a supported image" in reasons[random_bytes.pk]
    assert "too many pixels" in reasons[bomb.pk]
    assert "missing" in reasons[missing.pk]
    for file in (truncated, random_bytes, bomb):
        blob = Blob.objects.get(pk=file.blob_id)
        assert blob.thumbnail_status == "failed"
        assert blob.thumbnail_error == reasons[file.pk]
        assert default_storage.exists(blob.storage_name)  # the file itself stays
        assert not default_storage.exists(rendition_name(blob.sha256, 256))
        response = thumbnail_response(blob)
        assert response.status_code == 302
        assert response["Location"].endswith(thumbnails.FAILED_PLACEHOLDER)
    assert finders.find(thumbnails.FAILED_PLACEHOLDER)

    good_blob = Blob.objects.get(pk=good.blob_id)
    response = thumbnail_response(good_blob)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (256, 192)


def test_pending_blob_shows_the_pending_placeholder(make_user):
    blob = jpeg_blob(300, 200, shade=7)
    response = thumbnail_response(blob, 1024)
    assert response.status_code == 302
    assert response["Location"].endswith(thumbnails.PENDING_PLACEHOLDER)
    assert finders.find(thumbnails.PENDING_PLACEHOLDER)


def test_a_chunk_costs_a_bounded_number_of_queries(make_user, django_assert_max_num_queries):
    owner = make_user()
    bad = [add_file(owner, store_blob(bytes([n]) * 300)) for n in range(10)]
    good = [add_file(owner, jpeg_blob(200, 150, shade=10 + n)) for n in range(10)]
    with django_assert_max_num_queries(4):  # files, blobs, one UPDATE for ready, one for failed
        outcome = run(owner, bad + good)
    assert outcome.done == 10
    assert len(outcome.failures) == 10


def test_regenerating_into_a_failure_removes_the_stale_renditions(make_user, settings):
    owner = make_user()
    blob = jpeg_blob(800, 600, shade=30)
    file = add_file(owner, blob)
    assert run(owner, [file]).done == 1
    assert default_storage.exists(rendition_name(blob.sha256, 1024))

    settings.MAX_IMAGE_PIXELS = 100_000  # the operator lowered the limit below this 0.48 MP image
    outcome = run(owner, [file], force=True)

    assert outcome.done == 0
    assert "too many pixels" in dict(outcome.failures)[file.pk]
    blob.refresh_from_db()
    assert blob.thumbnail_status == "failed"
    for size in (1024, 256):
        assert not default_storage.exists(rendition_name(blob.sha256, size))
