"""Stored files read as blocks: one file, or several read one after another as if they were one."""

from media_library.storage.errors import open_guarded

# Bytes per read when streaming stored files: big enough that a read costs little per byte, small
# enough that a worker's memory stays flat however big the file or archive.
READ_BLOCK = 1024 * 1024


def blocks_of(handle, start=0, length=None):
    try:
        if start:
            handle.seek(start)
        remaining = length
        first = handle.read(READ_BLOCK if remaining is None else min(READ_BLOCK, remaining))
    except BaseException:
        handle.close()
        raise
    return _stream(handle, first, None if remaining is None else remaining - len(first))


def _stream(handle, block, remaining):
    with handle:
        while block:
            yield block
            if remaining is not None and remaining <= 0:
                return
            block = handle.read(READ_BLOCK if remaining is None else min(READ_BLOCK, remaining))
            if remaining is not None:
                remaining -= len(block)


def open_stored_sequence(objects, start=0, length=None):
    """Blocks of `length` bytes (None: to the end) from `start` of the stored objects `objects`
    ([name, size] pairs) read one after another as if they were one file: how an archive's parts
    and tail are served. The first object is opened here (FileNotFoundError before any block)."""
    total = sum(size for _name, size in objects)
    length = total - start if length is None else min(length, total - start)
    pieces = []  # (name, offset in it, bytes to read)
    offset = 0
    for name, size in objects:
        first = max(start, offset)
        last = min(start + length, offset + size)
        if first < last:
            pieces.append((name, first - offset, last - first))
        offset += size
    if not pieces:
        return iter(())
    head = blocks_of(open_guarded(pieces[0][0]), pieces[0][1], pieces[0][2])
    return _chain(head, pieces[1:])


def _chain(head, rest):
    blocks = head
    try:
        yield from blocks
        for name, offset, count in rest:
            blocks.close()
            blocks = blocks_of(open_guarded(name), offset, count)
            yield from blocks
    finally:
        blocks.close()
