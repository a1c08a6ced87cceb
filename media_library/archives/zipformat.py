"""The records of a ZIP file, written here so that parts built on different workers can be stitched.

Python's `zipfile` writes one archive front to back in one process and cannot join parts written
independently; an archive job writes each chunk's entries as a part on whichever worker runs the
chunk, and a last step adds the central directory. So the records (PKWARE APPNOTE 6.3) are packed
here, and the tests read every archive back with `zipfile`, `unzip -t` and `bsdtar`:

- an entry is a local file header, its bytes STORED (JPEG/PNG/WebP do not deflate), and a data
  descriptor. General purpose bit 3 says CRC-32 and sizes follow the data, so the bytes stream
  from storage to storage in one pass without seeking back (an S3 multipart upload cannot seek);
  bit 11 says the name is UTF-8;
- the central directory repeats each entry with its CRC, sizes and the absolute offset of its
  local header (in a ZIP64 extra field once a size or offset passes 2 GiB, as `zipfile` does);
- then, when needed (65,535 entries or more, a directory past 2 GiB), the ZIP64 end of central
  directory record and its locator, and always the classic end record.

An entry whose size is known to pass 2 GiB before it is written also gets a ZIP64 extra field in
its local header, and so a descriptor with 8-byte sizes (the rule readers apply: 8-byte sizes
exactly when the local header has that field). Both sides of that rule live in `local_zip64`.
"""

import struct
import zlib
from dataclasses import dataclass

from django.utils import timezone

# Past this a size, offset or count needs ZIP64 (2 GiB - 1, as zipfile: some readers take 32-bit
# fields as signed). 0xFFFF / 0xFFFFFFFF in a classic field say "see the ZIP64 record".
ZIP64_LIMIT = (1 << 31) - 1
COUNT_LIMIT = 0xFFFF
MARK16, MARK32 = 0xFFFF, 0xFFFFFFFF

FLAGS = 0x0808  # bit 3: sizes in the data descriptor; bit 11: UTF-8 names
STORED = 0
VERSION_PLAIN, VERSION_ZIP64 = 20, 45
MADE_BY = (3 << 8) | VERSION_ZIP64  # Unix attributes, spec 4.5
FILE_ATTRIBUTES = 0o100644 << 16
DIRECTORY_ATTRIBUTES = (0o040755 << 16) | 0x10  # Unix mode + the MS-DOS directory bit

LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
ZIP64_END = struct.Struct("<IQHHIIQQQQ")
ZIP64_LOCATOR = struct.Struct("<IIQI")
END = struct.Struct("<IHHHHIIH")
MAX_NAME_BYTES = 0xFFFF


class ArchiveFormatError(ValueError):
    """An entry that cannot be written as asked (a name too long for the 16-bit length field)."""


@dataclass(frozen=True)
class Entry:
    """What the central directory needs of one written entry; `offset` is its local header's."""

    name: str
    crc: int
    size: int
    offset: int
    dos_time: int
    local_zip64: bool = False

    @property
    def is_directory(self):
        return self.name.endswith("/")

    def as_row(self):
        """A compact JSON row (the database keeps a part's entries until the archive is assembled)."""
        return [self.name, self.crc, self.size, self.offset, self.dos_time, int(self.local_zip64)]

    @classmethod
    def from_row(cls, row):
        name, crc, size, offset, dos_time, local_zip64 = row
        return cls(name, crc, size, offset, dos_time, bool(local_zip64))


def dos_time(moment=None):
    """(date << 16) | time in MS-DOS form, in the site's time zone (ZIP has no time zone field)."""
    local = timezone.localtime(moment or timezone.now())
    year = min(max(local.year, 1980), 2107)
    date = ((year - 1980) << 9) | (local.month << 5) | local.day
    clock = (local.hour << 11) | (local.minute << 5) | (local.second // 2)
    return (date << 16) | clock


def local_zip64(size_hint):
    """Whether an entry of this (expected) size gets a ZIP64 local header and 8-byte descriptor."""
    return size_hint > ZIP64_LIMIT


def encoded_name(name):
    data = name.encode("utf-8")
    if len(data) > MAX_NAME_BYTES:
        raise ArchiveFormatError("the path is too long for a ZIP entry")
    return data


def local_header(name_bytes, dos, *, zip64=False):
    """A local file header announcing a data descriptor (CRC and sizes zero here, as bit 3 says)."""
    extra = struct.pack("<HHQQ", 0x0001, 16, 0, 0) if zip64 else b""
    size_field = MARK32 if zip64 else 0
    version = VERSION_ZIP64 if zip64 else VERSION_PLAIN
    header = LOCAL_HEADER.pack(
        0x04034B50, version, FLAGS, STORED, dos & 0xFFFF, dos >> 16, 0, size_field, size_field,
        len(name_bytes), len(extra),
    )  # fmt: skip
    return header + name_bytes + extra


def data_descriptor(crc, size, *, zip64=False):
    if zip64:
        return struct.pack("<IIQQ", 0x08074B50, crc, size, size)
    return struct.pack("<IIII", 0x08074B50, crc, size, size)


def central_header(entry, base=0):
    """The central directory record of `entry`, whose part starts at `base` in the archive."""
    offset = base + entry.offset
    fields = []
    size_field = entry.size
    if entry.size > ZIP64_LIMIT:
        size_field = MARK32
        fields += [entry.size, entry.size]  # uncompressed, then compressed (the order readers expect)
    offset_field = offset
    if offset > ZIP64_LIMIT:
        offset_field = MARK32
        fields.append(offset)
    extra = struct.pack(f"<HH{len(fields)}Q", 0x0001, 8 * len(fields), *fields) if fields else b""
    version = VERSION_ZIP64 if (fields or entry.local_zip64) else VERSION_PLAIN
    name_bytes = encoded_name(entry.name)
    attributes = DIRECTORY_ATTRIBUTES if entry.is_directory else FILE_ATTRIBUTES
    header = CENTRAL_HEADER.pack(
        0x02014B50, MADE_BY, version, FLAGS, STORED, entry.dos_time & 0xFFFF, entry.dos_time >> 16,
        entry.crc, size_field, size_field, len(name_bytes), len(extra), 0, 0, 0, attributes, offset_field,
    )  # fmt: skip
    return header + name_bytes + extra


def end_records(count, directory_offset, directory_size):
    """What follows the central directory: ZIP64 end record + locator when needed, then the end."""
    records = b""
    if count >= COUNT_LIMIT or directory_offset > ZIP64_LIMIT or directory_size > ZIP64_LIMIT:
        zip64_end_offset = directory_offset + directory_size
        records += ZIP64_END.pack(
            0x06064B50, ZIP64_END.size - 12, MADE_BY, VERSION_ZIP64, 0, 0, count, count,
            directory_size, directory_offset,
        )  # fmt: skip
        records += ZIP64_LOCATOR.pack(0x07064B50, 0, zip64_end_offset, 1)
        count = min(count, MARK16)
        directory_size = MARK32 if directory_size > ZIP64_LIMIT else directory_size
        directory_offset = MARK32 if directory_offset > ZIP64_LIMIT else directory_offset
    return records + END.pack(0x06054B50, 0, 0, count, count, directory_size, directory_offset, 0)


class EntryWriter:
    """Writes entries one after another to a binary file-like `out`, counting their offsets.

    Offsets count from `start` (0 for a part: the assembly adds the part's place in the archive).
    Nothing is held but the block being copied.
    """

    def __init__(self, out, start=0):
        self.out = out
        self.offset = start

    def _write(self, data):
        self.out.write(data)
        self.offset += len(data)

    def add(self, name, dos, blocks, size_hint=0):
        """Write one entry from an iterable of byte blocks; returns its Entry."""
        zip64 = local_zip64(size_hint)
        offset = self.offset
        self._write(local_header(encoded_name(name), dos, zip64=zip64))
        crc, size = 0, 0
        for block in blocks:
            crc = zlib.crc32(block, crc)
            size += len(block)
            self._write(block)
        if size > ZIP64_LIMIT and not zip64:
            # The descriptor would need 8-byte sizes that its local header did not announce.
            raise ArchiveFormatError(f"{name}: {size} bytes where {size_hint} were expected")
        self._write(data_descriptor(crc, size, zip64=zip64))
        return Entry(name, crc, size, offset, dos, zip64)

    def add_directory(self, name, dos):
        return self.add(name.rstrip("/") + "/", dos, ())

    def central_directory(self, entries_with_bases):
        """Write the central directory for (entry, base) pairs and the end records; returns the count."""
        directory_offset = self.offset
        count = 0
        for entry, base in entries_with_bases:
            self._write(central_header(entry, base))
            count += 1
        self._write(end_records(count, directory_offset, self.offset - directory_offset))
        return count
