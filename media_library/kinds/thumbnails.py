"""The `thumbnails` job kind: make (or, with params["force"], remake) the renditions of files' blobs."""

from jobs.registry import ChunkContext, ChunkOutcome, JobKind, register
from media_library.models import Blob, MediaFile
from media_library.thumbnails import ensure_thumbnails

THUMBNAILS_KIND = "thumbnails"
NOT_FOUND = "file not found"
# ~0.1 s of CPU per 12 MP photo: 20 per chunk keeps a chunk around 2 s, so progress moves often
# and a redelivered chunk repeats little.
THUMBNAIL_CHUNK = 20


def make_thumbnails(ctx: ChunkContext) -> ChunkOutcome:
    """Handle one chunk of MediaFile ids of `ctx.owner_id`.

    Files are mapped to their distinct blobs first, so copies and duplicates cost one render. Ids
    that are not the owner's count as "file not found" (the same answer as for a deleted file, so
    nothing about other owners is revealed) and are never acted on.
    """
    rows = list(MediaFile.objects.filter(owner_id=ctx.owner_id, id__in=ctx.ids).values_list("id", "blob_id"))
    blob_ids = {blob_id for _, blob_id in rows}
    blobs = Blob.objects.filter(id__in=blob_ids).only("id", "sha256", "thumbnail_status").order_by("id")
    errors = ensure_thumbnails(blobs, force=bool(ctx.params.get("force")))

    outcome = ChunkOutcome()
    found = set()
    for file_id, blob_id in rows:
        found.add(file_id)
        if blob_id in errors:
            outcome.failures.append((file_id, errors[blob_id]))
        else:
            outcome.done += 1
    outcome.failures.extend((file_id, NOT_FOUND) for file_id in ctx.ids if file_id not in found)
    return outcome


THUMBNAILS = register(
    JobKind(
        name=THUMBNAILS_KIND,
        label="Make thumbnails",
        handler=make_thumbnails,
        queue="bulk",
        chunk_size=THUMBNAIL_CHUNK,
        # Image work must not hold the database write lock; the handler is idempotent by itself
        # (ready blobs are skipped, renditions are deterministic and named by content).
        atomic=False,
        success_message="{done} of {total} thumbnails ready",
    )
)
