"""Planning an archive at submit: paths (flat, or the folder tree), names made safe and unique per
directory case-insensitively, chunks bounded in files and bytes, the archive's own name."""

import re
import unicodedata

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.models import JobChunk
from media_library.actions import SelectionError, SelectionNotFound, submit_action
from media_library.models import Archive, ArchivePart
from tests.support.page_rows import make_file, make_files, make_folder

pytestmark = pytest.mark.django_db


def plan_of(job):
    """[(file id or None, path)] of the whole archive, in order."""
    parts = ArchivePart.objects.filter(archive__job=job).order_by("index")
    return [(file_id, path) for part in parts for file_id, path, _size in part.plan]


def paths(job):
    return [path for _id, path in plan_of(job)]


def test_chunks_hold_at_most_n_files_and_past_their_first_file_at_most_b_bytes(make_user, settings):
    settings.ARCHIVE_CHUNK_FILES, settings.ARCHIVE_CHUNK_BYTES = 3, 1000
    owner = make_user()
    folder = make_folder(owner, "F")
    sizes = [400, 400, 400, 2000, 10, 10, 10, 10]
    files = [make_file(owner, f"f{n}.jpg", folder, size=size) for n, size in enumerate(sizes)]
    job, count = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    ids = [f.pk for f in files]
    expected = [ids[0:2], ids[2:3], ids[3:4], ids[4:7], ids[7:8]]
    assert [c.ids for c in JobChunk.objects.filter(job=job).order_by("index")] == expected
    parts = ArchivePart.objects.filter(archive__job=job).order_by("index")
    assert [[row[0] for row in part.plan] for part in parts] == expected  # chunk i writes part i
    archive = Archive.objects.get(job=job)
    assert (archive.file_count, archive.bytes_total, archive.bytes_done) == (8, sum(sizes), 0)
    assert (count, archive.status, archive.owner) == (8, "building", owner)


def test_a_flat_selection_gets_unique_safe_names_at_the_root(make_user):
    owner = make_user()
    a, b = make_folder(owner, "A"), make_folder(owner, "B")
    nfd = unicodedata.normalize("NFD", "사진.jpg")
    files = [
        make_file(owner, "photo.jpg", a),
        make_file(owner, "photo.jpg", b),  # the same name in another folder
        make_file(owner, "Photo.JPG", b),  # the same name, case aside
        make_file(owner, "photo (2).jpg", a),  # a literal counter
        make_file(owner, "사진.jpg", a),
        make_file(owner, nfd, b),  # the same name, another Unicode form
        make_file(owner, "../../etc/passwd", a),  # written behind the naming rules' back
        make_file(owner, "evil\u202egpj.exe", b),
        make_file(owner, "missing.TXT", a),
    ]
    job, _ = submit_action(owner, "archive", {"scope": "ids", "file_ids": [f.pk for f in files]})
    names = paths(job)
    assert len(names) == 9 and all("/" not in name for name in names)
    assert len({unicodedata.normalize("NFC", n).casefold() for n in names}) == 9
    photos = [n for n in names if n.casefold().startswith("photo")]
    # Which twin keeps its name follows the database's order; each name is one of the counted forms.
    assert len(photos) == 4 and all(re.fullmatch(r"photo( \([2-5]\))?\.jpg", n, re.I) for n in photos)
    assert {n for n in names if n.startswith("사진")} == {"사진.jpg", "사진 (2).jpg"}
    assert "passwd" in names and "evilgpj.exe" in names
    archive = Archive.objects.get(job=job)
    assert archive.missing_name == "MISSING (2).txt"  # "missing.TXT" took "MISSING.txt"
    assert archive.name == f"selection {timezone.localdate().isoformat()}.zip"


def test_a_folder_tree_keeps_its_paths_under_the_folders_name(make_user):
    owner = make_user()
    top = make_folder(owner, "Trips")
    day = make_folder(owner, "Day 1", top)
    make_folder(owner, "Empty", day)
    twin_a, twin_b = make_folder(owner, "Beach", top), make_folder(owner, "beach", top)
    clash = make_folder(owner, "notes.jpg", top)  # a folder and a file of the same name
    outside = make_folder(owner, "Elsewhere")
    make_file(owner, "cover.jpg", top)
    make_file(owner, "notes.jpg", top)
    make_file(owner, "a.jpg", day)
    make_file(owner, "b.jpg", twin_a)
    make_file(owner, "c.jpg", twin_b)
    make_file(owner, "inside.jpg", clash)
    make_file(owner, "not me.jpg", outside)
    job, count = submit_action(owner, "archive", {"scope": "tree", "folder_id": top.pk})
    assert count == 6
    planned = paths(job)
    directories = [p for p in planned if p.endswith("/")]
    assert directories[0] == "Trips/" and planned[: len(directories)] == directories  # directories first
    assert set(directories) >= {"Trips/", "Trips/Day 1/", "Trips/Day 1/Empty/", "Trips/notes.jpg/"}
    twins = {d for d in directories if d.casefold().startswith("trips/beach")}
    assert twins in ({"Trips/Beach/", "Trips/beach (2)/"}, {"Trips/beach/", "Trips/Beach (2)/"})
    files = set(planned) - set(directories)
    assert {"Trips/cover.jpg", "Trips/notes (2).jpg", "Trips/Day 1/a.jpg"} < files
    assert "Trips/notes.jpg/inside.jpg" in files
    assert len(files) == 6 and not any("not me" in p for p in files)
    assert Archive.objects.get(job=job).name.startswith("Trips ")


def test_the_whole_library_is_a_tree_under_library(make_user):
    owner = make_user()
    folder = make_folder(owner, "Album")
    make_file(owner, "root.jpg")
    make_file(owner, "in album.jpg", folder)
    job, count = submit_action(owner, "archive", {"scope": "tree", "folder_id": ""})
    assert count == 2
    planned = paths(job)
    assert planned[:2] == ["Library/", "Library/Album/"]
    assert sorted(planned[2:]) == ["Library/Album/in album.jpg", "Library/root.jpg"]
    assert Archive.objects.get(job=job).name.startswith("Library ")


def test_planning_costs_queries_per_chunk_not_per_file(make_user, settings):
    settings.ARCHIVE_CHUNK_FILES = 1000
    owner = make_user()
    folder = make_folder(owner, "Big")
    make_files(owner, 10_000, folder=folder)
    with CaptureQueriesContext(connection) as queries:
        job, count = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    assert count == 10_000 and job.chunk_count == 10
    assert len(queries) < 60, len(queries)


def test_only_the_archive_takes_a_folder_tree_and_only_the_owners(make_user):
    owner, other = make_user(), make_user()
    folder = make_folder(owner, "Mine")
    make_file(owner, "a.jpg", folder)
    with pytest.raises(SelectionError, match="Move to trash does not take a folder with its subfolders"):
        submit_action(owner, "trash", {"scope": "tree", "folder_id": folder.pk})
    with pytest.raises(SelectionNotFound):
        submit_action(other, "archive", {"scope": "tree", "folder_id": folder.pk})
    assert not Archive.objects.exists()
