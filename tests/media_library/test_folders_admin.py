"""The admin for folders, blobs and files: lists, search, filters, and staff-only thumbnails."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from media_library.admin import thumbnail_url
from media_library.folders import create_folder
from media_library.models import Blob, MediaFile
from media_library.storage import rendition_name
from tests.support.library_rows import make_blob, make_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(make_user):
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_changelists_search_and_filters(admin_client_logged_in, make_user):
    alice = make_user("alice")
    folder = create_folder(alice.pk, None, "Holiday")
    make_files(alice, folder=folder, names=["beach.jpg", "hotel.jpg"])
    for url, text in [
        ("/admin/media_library/folder/?q=Holiday", "Holiday"),
        ("/admin/media_library/mediafile/?q=beach", "beach.jpg"),
        ("/admin/media_library/mediafile/?state=live", "hotel.jpg"),
        ("/admin/media_library/blob/?format__exact=PNG", "PNG"),
    ]:
        response = admin_client_logged_in.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url
    assert (
        "hotel.jpg"
        not in admin_client_logged_in.get("/admin/media_library/mediafile/?state=trashed").content.decode()
    )


def test_thumbnail_preview_is_staff_only(admin_client_logged_in, make_user):
    blob = make_blob()
    assert thumbnail_url(blob) is None  # not ready yet: no preview, no request
    default_storage.save(rendition_name(blob.sha256, 256), ContentFile(b"RIFF....WEBPVP8 "))
    Blob.objects.filter(pk=blob.pk).update(thumbnail_status=Blob.Thumbnail.READY)
    blob.refresh_from_db()
    url = thumbnail_url(blob)
    response = admin_client_logged_in.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert f'src="{url}"' in admin_client_logged_in.get("/admin/media_library/blob/").content.decode()
    user = Client()
    user.force_login(make_user("plain"))
    assert user.get(url).status_code == 302  # to the admin login: not for ordinary users


def test_thumbnail_needs_the_blob_view_permission(make_user):
    from django.contrib.auth.models import Permission

    blob = make_blob()
    default_storage.save(rendition_name(blob.sha256, 256), ContentFile(b"RIFF....WEBPVP8 "))
    Blob.objects.filter(pk=blob.pk).update(thumbnail_status=Blob.Thumbnail.READY)
    url = f"/admin/media_library/blob/{blob.pk}/thumbnail/"
    staff = make_user("helpdesk", is_staff=True)  # staff, but no permission on blobs
    client = Client()
    client.force_login(staff)
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_blob"))
    client.force_login(type(staff).objects.get(pk=staff.pk))
    assert client.get(url).status_code == 200


def test_folder_parent_and_owner_are_read_only_in_the_admin(admin_client_logged_in, make_user):
    """A folder's path holds its ancestors: the admin must not re-parent it without rewriting them."""
    alice, bob = make_user("alice"), make_user("bob")
    a = create_folder(alice.pk, None, "A")
    b = create_folder(alice.pk, None, "B")
    url = f"/admin/media_library/folder/{a.pk}/change/"
    html = admin_client_logged_in.get(url).content.decode()
    assert 'name="parent"' not in html and 'name="owner"' not in html and 'name="name"' in html
    response = admin_client_logged_in.post(url, {"name": "A renamed", "parent": b.pk, "owner": bob.pk})
    assert response.status_code == 302
    a.refresh_from_db()
    assert (a.name, a.parent_id, a.owner_id, a.path) == ("A renamed", None, alice.pk, f"/{a.pk}/")
    assert admin_client_logged_in.get("/admin/media_library/folder/add/").status_code == 403


def test_a_files_folder_owner_and_bytes_are_read_only_in_the_admin(admin_client_logged_in, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    theirs = create_folder(bob.pk, None, "Bob's")
    media_file = MediaFile.objects.create(owner=alice, name="a.jpg", blob=make_blob(), size=1)
    url = f"/admin/media_library/mediafile/{media_file.pk}/change/"
    html = admin_client_logged_in.get(url).content.decode()
    assert 'name="folder"' not in html and 'name="owner"' not in html and 'name="blob"' not in html
    form = {"name": "b.jpg", "folder": theirs.pk, "owner": bob.pk, "trashed_at_0": "2020-01-01"}
    assert admin_client_logged_in.post(url, form).status_code == 302
    media_file.refresh_from_db()
    assert (media_file.name, media_file.folder_id, media_file.owner_id, media_file.trashed_at) == (
        "b.jpg", None, alice.pk, None,
    )  # fmt: skip
    assert admin_client_logged_in.get("/admin/media_library/mediafile/add/").status_code == 403
