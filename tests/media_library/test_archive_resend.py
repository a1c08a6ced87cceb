"""The expiry sweep resends the assembly of an archive left `building` after its job finished (the
on_finish message was lost), by the task's name, and a real worker runs it."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.models import Job
from media_library.actions import submit_action
from media_library.archives import expiry
from media_library.folders import create_folder
from media_library.models import Archive
from tests.support.archives import image_file, wait_for_archive

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_archive_whose_finish_message_was_lost_is_finished_by_the_sweep(celery_worker, make_user):
    owner = make_user()
    folder = create_folder(owner.pk, None, "Stalled")
    for n in range(3):
        image_file(owner, folder, f"s{n}.jpg", 700 + n)
    job, _ = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    archive = wait_for_archive(job)
    # As if the job had been cancelled a while ago and its on_finish message never arrived.
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.CANCELLED, finished=timezone.now() - expiry.RESEND_AFTER - timedelta(seconds=5)
    )
    Archive.objects.filter(pk=archive.pk).update(status=Archive.Status.BUILDING)
    assert expiry.resend_stalled() == 1

    discarded = wait_for_archive(job, statuses=("failed",))  # the worker ran the assembly task
    assert "cancelled" in discarded.error
    assert archive.stored_objects and not any(
        default_storage.exists(name) for name, _ in archive.stored_objects
    )
    assert expiry.resend_stalled() == 0
