"""Streaming stored bytes with a correct Content-Length and a single HTTP Range (RFC 9110 §14).

`Range: bytes=a-b`, `bytes=a-` and `bytes=-n` give 206 with Content-Range; a range starting past
the end gives 416 with `Content-Range: bytes */size`; anything else (several ranges, another
unit, nonsense) is ignored and the whole object is sent with 200, as the RFC allows. `If-Range`
with another validator than ours sends the whole object too, so a resumed download never mixes
two versions.

The body is an async iterator: under ASGI Django would read a sync iterator into one list before
sending it, i.e. a whole archive in memory. Each block is read from storage in a worker thread.
"""

import re

from asgiref.sync import sync_to_async
from django.http import HttpResponse, StreamingHttpResponse

from media_library import storage

UNSATISFIABLE = "unsatisfiable"
_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$", re.ASCII)


def parse_range(header, size):
    """(first, last) byte, inclusive, of a single satisfiable range; UNSATISFIABLE; or None for
    "send everything"."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _SPEC.match(spec)
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # the last `last` bytes
        suffix = int(last)
        return (max(0, size - suffix), size - 1) if suffix and size else UNSATISFIABLE
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # not a valid range: ignored
    if start >= size:
        return UNSATISFIABLE
    return start, min(end, size - 1)


async def _async_blocks(blocks):
    try:
        while (block := await sync_to_async(next, thread_sensitive=False)(blocks, None)) is not None:
            yield block
    finally:
        await sync_to_async(blocks.close, thread_sensitive=False)()


def stored_object_response(request, objects, size, *, content_type, etag, headers):
    """The stored objects `objects` ([name, size], read one after another) as one body of `size`
    bytes, whole or the requested range; FileNotFoundError (before any header is sent) when the
    first object it needs is gone."""
    wanted = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if wanted is not None and if_range is not None and if_range.strip() != etag:
        wanted = None
    if wanted == UNSATISFIABLE:
        response = HttpResponse(status=416, content_type="text/plain")
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = wanted or (0, size - 1)
    length = max(0, end - start + 1)
    blocks = storage.open_stored_sequence(objects, start, length)  # opened here: missing is a 404
    response = StreamingHttpResponse(
        _async_blocks(blocks), status=206 if wanted else 200, content_type=content_type
    )
    response["Content-Length"] = str(length)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    for header, value in headers.items():
        response[header] = value
    return response
