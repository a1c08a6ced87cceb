"""Probe commands of the memory and per-operation measurements (run inside a host, like probe.py).

db-seed-rows USER FOLDER COUNT   COUNT file rows in one folder, by one INSERT … SELECT
db-sweep-orphans --age-hours H   the orphan sweep, as if H hours had passed (no grace left)
db-pg-sessions ADDRESS           the server's sessions from ADDRESS, and the locks they hold
s3-put-orphans COUNT             COUNT stored blobs that no row references
download WEB TOKEN IDS_JSON      every file's bytes as a browser gets them (redirects too)
"""

import hashlib
import io
import json
import os
import time
import urllib.request
from pathlib import Path

from bench.rig.probe import _django, emit, s3_client

SEED_BLOBS = 8  # the rows share a few real blobs: copy and trash never read bytes


def db_seed_rows(args):
    """Set-based: 100,000 rows in about a second, where the ORM would take a minute."""
    _django()
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import connection, transaction
    from PIL import Image

    from media_library.folders import child_folder
    from media_library.models import Blob, MediaFile

    owner, _ = get_user_model().objects.get_or_create(username=args.user)
    started = time.monotonic()
    blob_ids = []
    for n in range(SEED_BLOBS):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 24), (n * 30, 90, 200 - n * 20)).save(buffer, "PNG")
        data = buffer.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        blob, created = Blob.objects.get_or_create(
            sha256=sha, defaults={"size": len(data), "format": "PNG", "width": 32, "height": 24}
        )
        if created:
            default_storage.save(blob.storage_name, ContentFile(data))
        blob_ids.append(blob.pk)
    with transaction.atomic():
        folder = child_folder(owner.pk, None, args.folder)
        table, blobs = MediaFile._meta.db_table, Blob._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {table} (owner_id, folder_id, name, blob_id, size, created, updated,
                                         trashed_from_path, copy_key)
                    SELECT %s, %s, 'img-' || lpad(i::text, 7, '0') || '.png', b.id, b.size,
                           now(), now(), '', ''
                    FROM generate_series(0, %s - 1) AS i
                    JOIN {blobs} b ON b.id = (%s::bigint[])[1 + i %% %s]""",
                [owner.pk, folder.pk, args.count, blob_ids, len(blob_ids)],
            )
            inserted = cursor.rowcount
    emit({"folder_id": folder.pk, "inserted": inserted, "seconds": round(time.monotonic() - started, 2)})


def db_sweep_orphans(args):
    _django()
    from datetime import timedelta

    from django.utils import timezone

    from media_library.maintenance.orphans import sweep

    emit(sweep(now=timezone.now() + timedelta(hours=args.age_hours)))


def db_pg_sessions(args):
    """Sessions from a host (a cut one must not keep any, nor their locks, for long)."""
    _django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(DISTINCT a.pid), count(l.pid), coalesce(max(now() - a.state_change), '0')
               FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND l.granted
               WHERE a.client_addr = %s::inet""",
            [args.address],
        )
        sessions, locks, oldest = cursor.fetchone()
    emit({"sessions": sessions, "locks": locks, "oldest_state_seconds": oldest.total_seconds()})


def s3_put_orphans(args):
    client, bucket = s3_client(), os.environ["AWS_STORAGE_BUCKET_NAME"]
    for n in range(args.count):
        data = f"orphan {os.getpid()} {time.time_ns()} {n}".encode()
        sha = hashlib.sha256(data).hexdigest()
        client.put_object(Bucket=bucket, Key=f"blobs/{sha[:2]}/{sha[2:4]}/{sha}", Body=data)
    emit({"put": args.count})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect to a presigned URL is followed without the Bearer token (below)


def download(args):
    opener = urllib.request.build_opener(_NoRedirect)
    ids = json.loads(Path(args.ids).read_text()) if args.ids.endswith(".json") else json.loads(args.ids)
    total, redirects, started = 0, 0, time.monotonic()
    for file_id in ids:
        request = urllib.request.Request(f"{args.web}/files/{file_id}/download/")
        request.add_header("Authorization", f"Bearer {args.token}")
        try:
            with opener.open(request, timeout=60) as response:
                total += len(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code not in (301, 302, 303, 307, 308):
                raise
            redirects += 1
            with urllib.request.urlopen(exc.headers["Location"], timeout=60) as response:
                total += len(response.read())
    emit({"files": len(ids), "bytes": total, "redirects": redirects, "seconds": time.monotonic() - started})


def add_commands(sub):
    p = sub.add_parser("db-seed-rows")
    p.add_argument("user"), p.add_argument("folder"), p.add_argument("count", type=int)
    p.set_defaults(run=db_seed_rows)
    p = sub.add_parser("db-sweep-orphans")
    p.add_argument("--age-hours", type=float, default=2)
    p.set_defaults(run=db_sweep_orphans)
    p = sub.add_parser("db-pg-sessions")
    p.add_argument("address")
    p.set_defaults(run=db_pg_sessions)
    p = sub.add_parser("s3-put-orphans")
    p.add_argument("count", type=int)
    p.set_defaults(run=s3_put_orphans)
    p = sub.add_parser("download")
    p.add_argument("web"), p.add_argument("token"), p.add_argument("ids", help="a JSON list, or a .json file")
    p.set_defaults(run=download)
