"""Two chunks writing names into one folder at the same moment (PostgreSQL runs them in parallel)."""

import pytest

from devtools.processes import wait_until
from media_library.folders import create_folder
from media_library.models import MediaFile
from tests.support import library_kinds  # noqa: F401  (registers test.parked_copy)
from tests.support.chunks import deliver, handed_out
from tests.support.interleave import PauseAfter, finish, in_thread, postgres_only, waits_on_a_lock
from tests.support.library_rows import make_files

pytestmark = [pytest.mark.django_db(transaction=True), postgres_only]


def copies_inserted(sql):
    return sql.lstrip().upper().startswith("INSERT INTO MEDIA_LIBRARY_MEDIAFILE")


def test_two_chunks_copying_the_same_names_into_one_folder_at_once(make_user):
    owner = make_user()
    names = [f"photo{i}.jpg" for i in range(10)]
    first = make_files(owner, folder=create_folder(owner.pk, None, "Day 1"), names=names)
    second = make_files(owner, folder=create_folder(owner.pk, None, "Day 2"), names=names)
    target = create_folder(owner.pk, None, "All")
    job = handed_out(
        owner, [f.pk for f in first + second], kind="test.parked_copy", params={"target_folder_id": target.pk}
    )
    # Chunk 0 has inserted its copies and not committed yet when chunk 1 allocates the same names.
    pause = PauseAfter(copies_inserted)
    chunk0 = in_thread(pause.run, deliver, job, 0, 1)
    assert pause.reached.wait(30)
    chunk1 = in_thread(deliver, job, 1, 1)
    wait_until(lambda: waits_on_a_lock(chunk1[1]["pid"]), 30, "the second chunk waiting for the first")
    pause.go_on.set()
    assert {finish(*chunk0), finish(*chunk1)} == {"recorded", "finished"}
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("succeeded", 20, 0)
    copied = sorted(MediaFile.objects.filter(folder=target).values_list("name", flat=True))
    assert copied == sorted(names + [name.replace(".jpg", " (2).jpg") for name in names])
