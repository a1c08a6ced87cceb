"""The hand-written ZIP records, read back by zipfile, Info-ZIP unzip and bsdtar: parts written
apart and stitched, 65,536+ entries (ZIP64 end records), offsets past 4 GiB (ZIP64 extra fields),
UTF-8 names, a data descriptor after every entry."""

import io
import struct
import subprocess
import zipfile
import zlib

import pytest

from media_library.archives.zipformat import (
    ArchiveFormatError,
    Entry,
    EntryWriter,
    central_header,
    dos_time,
    end_records,
)
from tests.support.archives import check_with_tools, zip_digests

DOS = dos_time()


def stitched(parts_entries, path):
    """Write each part apart (offsets from 0), then join them and add the central directory."""
    parts = []
    for entries in parts_entries:
        buffer = io.BytesIO()
        writer = EntryWriter(buffer)
        written = [writer.add(name, DOS, [data[:7], data[7:]], len(data)) for name, data in entries]
        parts.append((buffer.getvalue(), written))
    with open(path, "wb") as out:
        base, directory = 0, []
        for data, written in parts:
            out.write(data)
            directory += [(entry, base) for entry in written]
            base += len(data)
        EntryWriter(out, start=base).central_directory(directory)


def test_parts_written_apart_make_one_archive_every_tool_reads(tmp_path):
    contents = {
        "Trips/서울/사진.jpg": b"\xff\xd8 korean name " * 50,
        "Trips/photo (2).jpg": b"second",
        "Trips/empty.txt": b"",
        "top.bin": bytes(range(256)) * 40,
    }
    names = list(contents)
    path = tmp_path / "stitched.zip"
    stitched([[(names[0], contents[names[0]])], [(n, contents[n]) for n in names[1:]]], path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == names
        assert all(archive.read(name) == data for name, data in contents.items())
        info = archive.getinfo(names[0])
        assert info.flag_bits & 0x808 == 0x808 and info.compress_type == zipfile.ZIP_STORED
        assert info.external_attr >> 16 == 0o100644
    assert check_with_tools(path) == names
    assert set(zip_digests(path)) == set(names)


def test_directories_are_entries_of_their_own(tmp_path):
    buffer = io.BytesIO()
    writer = EntryWriter(buffer)
    entries = [writer.add_directory("Empty", DOS), writer.add("Full/x", DOS, [b"x"])]
    writer.central_directory([(entry, 0) for entry in entries])
    archive = zipfile.ZipFile(buffer)
    assert archive.getinfo("Empty/").is_dir()


def test_more_than_65535_entries_get_the_zip64_end_records(tmp_path):
    path = tmp_path / "many.zip"
    count = 70_000
    stitched([[(f"d/{n}", str(n).encode()) for n in range(count)]], path)
    data = path.read_bytes()
    assert data[-22:-18] == b"PK\x05\x06" and data[-42:-38] == b"PK\x06\x07"
    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == count and archive.read("d/69999") == b"69999"
    assert len(check_with_tools(path)) == count


def test_65535_entries_still_say_zip64_since_0xFFFF_means_look_further():
    assert b"PK\x06\x06" not in end_records(65_534, 100, 100)
    assert b"PK\x06\x06" in end_records(65_535, 100, 100)


def test_offsets_past_4_gib_are_zip64_extra_fields(tmp_path):
    """Entry B's local header starts 5 GiB into a sparse file (the gap is a hole on disk)."""
    path = tmp_path / "big.zip"
    far = 5 * 2**30
    with open(path, "wb") as out:
        writer = EntryWriter(out)
        near = writer.add("near.txt", DOS, [b"near"])
        out.seek(far)
        writer.offset = far
        remote = writer.add("far.txt", DOS, [b"far away"])
        writer.central_directory([(near, 0), (remote, 0)])
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("far.txt")
        assert info.header_offset == far
        assert archive.read("far.txt") == b"far away" and archive.read("near.txt") == b"near"
        assert archive.testzip() is None
    tested = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_a_big_entry_has_both_sizes_in_its_zip64_extra_field():
    entry = Entry("huge.bin", crc=1, size=6 * 2**30, offset=3 * 2**30, dos_time=DOS, local_zip64=True)
    record = central_header(entry)
    sizes = struct.unpack("<II", record[20:28])
    assert sizes == (0xFFFFFFFF, 0xFFFFFFFF) and struct.unpack("<I", record[42:46]) == (0xFFFFFFFF,)
    extra = record[46 + len(b"huge.bin") :]
    assert struct.unpack("<HHQQQ", extra) == (1, 24, 6 * 2**30, 6 * 2**30, 3 * 2**30)


def test_a_big_entry_announced_in_its_local_header_gets_an_8_byte_descriptor():
    buffer = io.BytesIO()
    entry = EntryWriter(buffer).add("big", DOS, [b"abc"], size_hint=3 * 2**30)
    data = buffer.getvalue()
    assert entry.local_zip64 and struct.unpack("<HH", data[30 + 3 : 30 + 7]) == (1, 16)
    assert data[-24:] == struct.pack("<IIQQ", 0x08074B50, zlib.crc32(b"abc"), 3, 3)


def test_an_entry_bigger_than_announced_past_the_limit_is_refused(monkeypatch):
    from media_library.archives import zipformat

    monkeypatch.setattr(zipformat, "ZIP64_LIMIT", 100)  # the 2 GiB rule, on 200 bytes
    with pytest.raises(ArchiveFormatError, match="were expected"):
        EntryWriter(io.BytesIO()).add("liar", DOS, [b"x" * 200], size_hint=10)


def test_names_longer_than_the_length_field_are_refused():
    with pytest.raises(ArchiveFormatError, match="too long"):
        EntryWriter(io.BytesIO()).add("a/" * 40_000, DOS, [b""])


def test_dos_times_are_local_and_clamped_to_the_format():
    from datetime import UTC, datetime

    assert dos_time(datetime(1970, 1, 1, tzinfo=UTC)) >> 25 == 0  # 1980, the format's first year
    packed = dos_time(datetime(2025, 5, 17, 13, 45, 58, tzinfo=UTC))
    assert (packed >> 25) + 1980 == 2025 and (packed >> 16) & 0x1F == 17 and (packed >> 11) & 0x1F == 13
