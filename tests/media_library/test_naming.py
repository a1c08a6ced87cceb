import pytest

from media_library.models import Blob, MediaFile
from media_library.naming import (
    MAX_NAME_LENGTH,
    NameAllocator,
    live_file_names,
    resolve_conflicting_name,
    safe_display_name,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("a\x00b.jpg", "ab.jpg"),
        ("line\nbreak.png", "linebreak.png"),
        ("gpj\u202eexe.jpg", "gpjexe.jpg"),  # right-to-left override stripped
        ("zero\u200bwidth.jpg", "zerowidth.jpg"),
        ("Cafe\u0301.jpg", "Caf\u00e9.jpg"),  # NFC
        ("  spaced   out .jpg  ", "spaced out .jpg"),
        ("trailing dots...", "trailing dots"),
        ("..", "untitled"),
        ("", "untitled"),
        (None, "untitled"),
        ("/", "untitled"),
        (".hidden", ".hidden"),
    ],
)
def test_safe_display_name(raw, expected):
    assert safe_display_name(raw) == expected


def test_long_names_are_bounded_keeping_the_extension():
    name = safe_display_name("x" * 1000 + ".jpeg")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith("x.jpeg")


def test_conflicts_resolve_like_a_desktop_file_manager():
    assert resolve_conflicting_name("photo.jpg", set()) == "photo.jpg"
    assert resolve_conflicting_name("photo.jpg", {"photo.jpg"}) == "photo (2).jpg"
    assert resolve_conflicting_name("photo.jpg", {"photo.jpg", "photo (2).jpg"}) == "photo (3).jpg"
    assert resolve_conflicting_name("photo (2).jpg", {"photo.jpg", "photo (2).jpg"}) == "photo (3).jpg"
    assert resolve_conflicting_name("README", {"README"}) == "README (2)"


def test_numbered_long_name_stays_bounded():
    long = safe_display_name("y" * 300 + ".png")
    second = resolve_conflicting_name(long, {long})
    assert len(second) <= MAX_NAME_LENGTH
    assert second.endswith(" (2).png")


@pytest.mark.django_db
def test_allocator_resolves_against_folder_and_batch(django_user_model, django_assert_max_num_queries):
    owner = django_user_model.objects.create_user("namer")
    blob = Blob.objects.create(sha256="a" * 64, size=1, format="PNG", width=1, height=1)
    for name in ["photo.jpg", "photo (2).jpg", "other.png"]:
        MediaFile.objects.create(owner=owner, name=name, blob=blob, size=1)
    allocator = NameAllocator(live_file_names(owner.pk, None))
    with django_assert_max_num_queries(3):
        names = allocator.allocate(["photo.jpg", "photo.jpg", "new.jpg", "new.jpg", "other.png"])
    assert names == ["photo (3).jpg", "photo (4).jpg", "new.jpg", "new (2).jpg", "other (2).png"]
    # Another user's identical names are not conflicts.
    stranger = django_user_model.objects.create_user("stranger")
    assert NameAllocator(live_file_names(stranger.pk, None)).allocate(["photo.jpg"]) == ["photo.jpg"]
