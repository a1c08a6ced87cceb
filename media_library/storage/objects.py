"""Stored objects by name: listed, sized, written, deleted, at S3's cost per request.

On S3 bytes are removed with DeleteObjects (up to 1,000 keys a request) and listed flat with
ListObjectsV2, so the orphan sweep costs one request per 1,000 objects, not one per file; an
archive is written through `open_for_writing`, the backend's writable file (a multipart upload).
Local disk keeps its own equivalents (a sorted directory walk, one unlink a file) behind the same
functions.
"""

import os
from datetime import UTC, datetime
from itertools import chain

from django.core.files.storage import default_storage

from media_library.storage.backend import s3_key, s3_storage
from media_library.storage.errors import StorageUnavailable, open_guarded, storage_errors

# DeleteObjects takes at most this many keys per request (the S3 API's limit).
DELETE_BATCH = 1000
LIST_PAGE = 1000  # keys per ListObjectsV2 page (S3's maximum)


def delete_stored_names(names):
    """Remove stored objects by name, missing ones included. On S3 in DeleteObjects batches of
    DELETE_BATCH keys (S3 answers "deleted" for a key that was not there); on local disk one
    unlink each. Returns how many names were asked for."""
    storage = s3_storage()
    count = 0
    if storage is None:
        for name in names:
            default_storage.delete(name)
            count += 1
        return count
    client = storage.connection.meta.client
    batch = []
    for name in chain(names, [None]):
        if name is not None:
            batch.append({"Key": s3_key(storage, name)})
        if batch and (name is None or len(batch) == DELETE_BATCH):
            with storage_errors():
                answer = client.delete_objects(
                    Bucket=storage.bucket_name, Delete={"Objects": batch, "Quiet": True}
                )
            if answer.get("Errors"):  # per-key refusals (e.g. throttled): the sweep retries them
                first = answer["Errors"][0]
                raise StorageUnavailable(
                    f"the storage kept {len(answer['Errors'])} objects ({first.get('Code')})"
                )
            count += len(batch)
            batch = []
    return count


def delete_stored(name):
    """Remove one stored object (an archive attempt that lost); missing is fine."""
    with storage_errors():
        default_storage.delete(name)


def list_stored(directory):
    """Every stored object under `directory` as (name, modified time), in name order.

    S3: ListObjectsV2 over the prefix, flat (no delimiter), 1,000 keys a page: the modified time
    comes with each key, so nothing is asked per object. Local disk: a walk that sorts each
    directory, which is the same order because the fan-out directories are fixed-width.
    """
    storage = s3_storage()
    if storage is None:
        yield from _walk_sorted(default_storage.path(directory), directory)
        return
    prefix = s3_key(storage, directory).rstrip("/") + "/"
    strip = len(s3_key(storage, ""))
    paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
    pages = iter(
        paginator.paginate(
            Bucket=storage.bucket_name, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE}
        )
    )
    while True:
        with storage_errors():  # around the request only, not around what the caller does
            page = next(pages, None)
        if page is None:
            return
        for entry in page.get("Contents", ()):
            yield entry["Key"][strip:].lstrip("/"), entry["LastModified"]


def _walk_sorted(path, name):
    try:
        entries = sorted(os.scandir(path), key=lambda entry: entry.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith("."):  # a rendition being written (see save_rendition)
            continue
        child = f"{name}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_sorted(entry.path, child)
        else:
            yield child, datetime.fromtimestamp(entry.stat().st_mtime, tz=UTC)


def stored_size(name):
    """The size of a stored object; FileNotFoundError when it is not there."""
    try:
        with storage_errors():
            return default_storage.size(name)
    except OSError as error:  # StorageUnavailable is not one: an outage is not "missing"
        raise FileNotFoundError(name) from error


def open_for_writing(name):
    """A writable binary file at `name`, replacing what is there; close it to finish the object.

    On local disk the directories are made first; on a backend without paths (object storage)
    the backend's own writable file streams the bytes (a multipart upload on S3).
    """
    try:
        path = default_storage.path(name)
    except NotImplementedError:
        return open_guarded(name, "wb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return open_guarded(name, "wb")
