"""Every name Mediaflow gives a stored file; nothing else builds these names.

Two kinds of stored files keyed by the SHA-256 of the original bytes, fanned out by its first two
byte pairs so no directory grows huge, and the ZIP downloads:

- a blob's bytes: `blobs/ab/cd/<sha256>`;
- its renditions (WebP previews made by the thumbnails job): `thumbs/ab/cd/<sha256>-<size>.webp`;
- an archive job's files, all under `archives/<job id>/`: the part each chunk writes,
  `part-<chunk:06>-<token>`, and the tail the assembly writes, `tail-<token>`; the ZIP is those
  objects one after another. The token is new for every attempt, so no two writers ever share an
  object; the database says which objects are the real ones (media_library.archives).
"""

import re

from media_library.imaging import RENDITION_SIZES

BLOB_DIRECTORY = "blobs"
RENDITION_DIRECTORY = "thumbs"
STORED_DIRECTORIES = (BLOB_DIRECTORY, RENDITION_DIRECTORY)  # content-addressed (the orphan sweep's)
ARCHIVE_DIRECTORY = "archives"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _fanned_out(directory, sha256):
    return f"{directory}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def blob_name(sha256):
    """Where the bytes of the blob with this SHA-256 live."""
    return _fanned_out(BLOB_DIRECTORY, sha256)


def rendition_name(sha256, size):
    """Where the rendition of `size` px (one of RENDITION_SIZES) of that blob lives."""
    return f"{_fanned_out(RENDITION_DIRECTORY, sha256)}-{size}.webp"


def stored_names(sha256):
    """Every name a blob may occupy: its bytes and each rendition."""
    return [blob_name(sha256), *(rendition_name(sha256, size) for size in RENDITION_SIZES)]


def sha256_of(name):
    """The SHA-256 a stored name belongs to (the inverse of blob_name and rendition_name)."""
    base = name.rsplit("/", 1)[-1]
    return base.split("-", 1)[0] if name.startswith(f"{RENDITION_DIRECTORY}/") else base


def is_content_addressed(name):
    """True for a well-formed blob or rendition name (anything else is not the sweep's to judge)."""
    sha256 = sha256_of(name)
    if not _SHA256.match(sha256):
        return False
    if name.startswith(f"{RENDITION_DIRECTORY}/"):
        return name in stored_names(sha256)[1:]
    return name == blob_name(sha256)


def archive_directory(job_id):
    return f"{ARCHIVE_DIRECTORY}/{job_id}"


def archive_part_name(job_id, index, token):
    """Where one attempt of chunk `index` of an archive job writes its part."""
    return f"{archive_directory(job_id)}/part-{int(index):06d}-{token}"


def archive_tail_name(job_id, token):
    """Where one attempt of the assembly writes the archive's tail (MISSING.txt, the central
    directory, the end records), the object that follows the parts."""
    return f"{archive_directory(job_id)}/tail-{token}"
