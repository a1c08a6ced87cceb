"""The `purge_trash` job kind: delete expired trash of every owner, chunk by chunk."""

from itertools import groupby

from jobs.registry import ChunkOutcome, JobKind, register
from media_library.maintenance import retention
from media_library.models import MediaFile
from media_library.operations import delete_permanently


def purge_chunk(ctx):
    """Delete the chunk's files that are still trashed and past the retention cutoff.

    A file restored since the job was submitted is left alone; one already deleted counts as
    done (the end state holds), so a redelivered chunk changes nothing.
    """
    still_expired = (
        MediaFile.objects.filter(id__in=ctx.ids, trashed_at__lte=retention.retention_cutoff())
        .order_by("owner_id", "id")
        .values_list("owner_id", "id")
    )
    for owner_id, rows in groupby(still_expired, key=lambda row: row[0]):
        delete_permanently(owner_id, [file_id for _owner, file_id in rows])
    return ChunkOutcome(done=len(ctx.ids))


register(
    JobKind(
        name=retention.PURGE_KIND,
        label="Purge expired trash",
        handler=purge_chunk,
        queue="bulk",
        chunk_size=500,
        success_message="Purged {done} expired files",
        staff_only=True,
        on_finish=retention.finish_purge,
    )
)
