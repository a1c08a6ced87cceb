"""What a folder, a stored blob of bytes and a file in the library are.

Bytes are content-addressed: a `Blob` is keyed by the SHA-256 of its bytes and shared by every
`MediaFile` row that shows it (copies, duplicate uploads). Behaviour that changes many rows lives
in `operations`, not here: these models stay small. `Archive` and `ArchivePart` record the ZIP
downloads that archive jobs build (media_library.archives).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from media_library import storage

# The one definition of a live and of a trashed file (a trashed file has `trashed_at` set).
LIVE = Q(trashed_at__isnull=True)
TRASHED = Q(trashed_at__isnull=False)


class Folder(models.Model):
    """A folder in one owner's tree.

    `path` is materialised: the ids of the ancestors and the folder itself, e.g. "/4/17/23/".
    A subtree is `path__startswith=folder.path`, so moving a folder with all its descendants is
    one UPDATE over that prefix, whatever the depth or size.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=2048, db_index=True, editable=False, default="")
    depth = models.PositiveIntegerField(default=0, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "parent", "name"],
                condition=Q(parent__isnull=False),
                name="folder_unique_name_in_parent",
            ),
            models.UniqueConstraint(
                fields=["owner", "name"], condition=Q(parent__isnull=True), name="folder_unique_name_at_root"
            ),
        ]
        indexes = [models.Index(fields=["owner", "parent", "name"], name="folder_owner_parent_name")]

    def __str__(self):
        return self.name

    def ancestor_ids(self):
        return [int(part) for part in self.path.strip("/").split("/") if part]


class Blob(models.Model):
    """Stored image bytes, identified by their SHA-256; shared by every file that shows them."""

    class Thumbnail(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    format = models.CharField(max_length=10)  # Pillow's format name: JPEG, PNG, WEBP, GIF
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    thumbnail_status = models.CharField(max_length=10, choices=Thumbnail.choices, default=Thumbnail.PENDING)
    thumbnail_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["thumbnail_status"], name="blob_thumbnail_status")]

    def __str__(self):
        return self.sha256[:12]

    @property
    def storage_name(self):
        """Where the bytes live in `default_storage` (see media_library.storage)."""
        return storage.blob_name(self.sha256)


class MediaFileQuerySet(models.QuerySet):
    def live(self):
        return self.filter(LIVE)

    def trashed(self):
        return self.filter(TRASHED)


class MediaFile(models.Model):
    """One file in an owner's library: a name in a folder (or the root), pointing at a blob.

    A trashed file has `trashed_at` set, `folder` cleared, and remembers where it came from in
    `trashed_from` (and, in case that folder is deleted meanwhile, the folder names in
    `trashed_from_path`) so restore can put it back.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_files")
    # The foreign keys that are NULL for many rows (folder: trashed and root files; trashed_from:
    # live files) get partial indexes below instead of Django's full ones: trashing or restoring a
    # file then only adds or removes an index entry instead of moving it to the NULL end.
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.PROTECT, related_name="files", db_index=False
    )
    name = models.CharField(max_length=255)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="files")
    size = models.BigIntegerField()  # copied from the blob so listings can sort by size without a join
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    trashed_at = models.DateTimeField(null=True, blank=True)
    trashed_from = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="trashed_files", db_index=False
    )
    # The folder names from the root to `trashed_from`, as a JSON list (e.g. '["Trips", "2024"]'):
    # a list, not a "/"-joined string, so a name may contain any character.
    trashed_from_path = models.CharField(max_length=4096, blank=True, default="")
    # Copy idempotency: a copy remembers its source id (a plain integer, not a foreign key: the
    # source may be deleted later) and the key of the job that made it, unique together, so a
    # re-run of the same copy chunk creates no second copy.
    copied_from = models.BigIntegerField(null=True, blank=True, editable=False)
    copy_key = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = MediaFileQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "folder", "name"],
                condition=Q(trashed_at__isnull=True, folder__isnull=False),
                name="file_unique_live_name_in_folder",
            ),
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=Q(trashed_at__isnull=True, folder__isnull=True),
                name="file_unique_live_name_at_root",
            ),
            models.UniqueConstraint(
                fields=["copy_key", "copied_from"],
                condition=~Q(copy_key=""),
                name="file_unique_copy_per_key",
            ),
        ]
        indexes = [
            # Keyset listings of a folder: (owner, folder) then the sort key, then id as tie-break.
            # Full, not live-only: trashed files sit at folder NULL, so the trash listing sorted by
            # name/created/size walks the same indexes.
            models.Index(fields=["owner", "folder", "name", "id"], name="file_list_by_name"),
            models.Index(fields=["owner", "folder", "created", "id"], name="file_list_by_created"),
            models.Index(fields=["owner", "folder", "size", "id"], name="file_list_by_size"),
            models.Index(fields=["folder"], condition=Q(folder__isnull=False), name="file_in_folder"),
            models.Index(
                fields=["trashed_from"], condition=Q(trashed_from__isnull=False), name="file_trashed_from"
            ),
            models.Index(
                fields=["owner", "trashed_at", "id"],
                condition=Q(trashed_at__isnull=False),
                name="file_trash_by_date",
            ),
        ]

    def __str__(self):
        return self.name


class ApiToken(models.Model):
    """A per-user token for scripts: `Authorization: Bearer <key>`.

    Only a SHA-256 digest of the key is stored; the key itself is shown once when it is created.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)  # the first characters, so users can tell tokens apart
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user} ({self.prefix}…)"


class Archive(models.Model):
    """A ZIP download built by an archive job (media_library.archives): its plan, progress and bytes.

    One per job. Its files live in storage under `archives/<job id>/`; the rows say which objects
    there are real: each part's `object_name` (set in the transaction that records its chunk
    done) and, once assembled, `stored_objects`: the parts and the tail that make the ZIP, in
    order. Anything else there is a dead attempt's leftover.
    """

    class Status(models.TextChoices):
        BUILDING = "building"  # the job's chunks write their parts
        ASSEMBLING = "assembling"  # one worker writes the archive (trusted until lease_until)
        READY = "ready"
        FAILED = "failed"  # the job failed or was cancelled, or the assembly gave up
        EXPIRED = "expired"  # past ARCHIVE_RETENTION_HOURS: its bytes are gone

    job = models.OneToOneField("jobs.Job", null=True, on_delete=models.CASCADE, related_name="archive")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="archives")
    name = models.CharField(max_length=255)  # the download's file name, e.g. "Trips 2025-05-01.zip"
    missing_name = models.CharField(max_length=255, default="MISSING.txt")  # free at the archive's root
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BUILDING)
    file_count = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)  # what the selected files weigh
    bytes_done = models.BigIntegerField(default=0)  # of those, in parts recorded so far
    # [[stored name, size], ...]: the ZIP's bytes are these objects one after another (the last
    # one is the tail: MISSING.txt, the central directory and the end records).
    stored_objects = models.JSONField(default=list, blank=True)
    size = models.BigIntegerField(default=0)  # of the finished archive
    entry_count = models.PositiveIntegerField(default=0)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # assemblies started
    error = models.CharField(max_length=500, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "expires_at"], name="archive_status_expires"),
            models.Index(fields=["owner", "status"], name="archive_owner_status"),
        ]

    def __str__(self):
        return f"{self.name} ({self.status})"


class ArchivePart(models.Model):
    """One chunk's share of an archive: what to write (`plan`, fixed when the job is submitted) and
    what was written (the part's object, size and entries, recorded with its chunk)."""

    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()  # the job's chunk index
    # [[file id, path, size], ...]; a directory entry is [null, "Trips/2024/", 0].
    plan = models.JSONField(default=list)
    object_name = models.CharField(max_length=255, blank=True, default="")  # "" until recorded
    size = models.BigIntegerField(default=0)
    entries = models.JSONField(default=list)  # zipformat.Entry rows, offsets within the part
    missing = models.JSONField(default=list)  # [[path, reason], ...] for MISSING.txt

    class Meta:
        ordering = ["archive", "index"]
        constraints = [models.UniqueConstraint(fields=["archive", "index"], name="archive_part_unique_index")]

    def __str__(self):
        return f"part {self.index} of {self.archive_id}"
