import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from media_library.ingest import verify_image
from media_library.models import Blob, Folder, MediaFile


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)  # worker processes: the command closes connections
@pytest.mark.parametrize("workers", ["0", "2"])
def test_seed_demo_creates_distinct_real_images_through_ingest(workers):
    output = seed("--user", "demo", "--files", "45", "--folders", "4", "--batch", "10", "--workers", workers)
    assert "Seeded 45 files for demo" in output
    owner = get_user_model().objects.get(username="demo")
    assert owner.check_password("mediaflow-demo")
    files = MediaFile.objects.filter(owner=owner)
    assert files.count() == 45
    assert Blob.objects.count() == 45  # distinct bytes: no two files share a blob
    folders = Folder.objects.filter(owner=owner, parent=None)
    assert sorted(folders.values_list("name", flat=True)) == ["Demo 001", "Demo 002", "Demo 003", "Demo 004"]
    assert sorted(files.values_list("folder__name", flat=True).distinct()) == sorted(
        folders.values_list("name", flat=True)
    )
    assert {blob.format for blob in Blob.objects.all()} == {"JPEG", "PNG"}
    for blob in Blob.objects.all()[:10]:
        with default_storage.open(blob.storage_name) as stored:
            assert verify_image(stored) == (blob.format, 64, 48)
    # A second run adds new, still distinct images to the same folders.
    seed("--user", "demo", "--files", "5", "--folders", "4", "--workers", workers)
    assert MediaFile.objects.filter(owner=owner).count() == 50 and Blob.objects.count() == 50
    assert Folder.objects.filter(owner=owner).count() == 4


def test_demo_images_are_unique_per_index_and_salt():
    from media_library.management.commands.seed_demo import demo_image

    datas = {demo_image(index, salt)[1] for index in range(20) for salt in (1, 2)}
    assert len(datas) == 40
    name, data = demo_image(3, 1)
    assert name == "demo-000003.png" and Image.open(io.BytesIO(data)).size == (64, 48)
