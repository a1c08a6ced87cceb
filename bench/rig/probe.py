"""Small commands the rig runs *inside* a host (the orchestrator's namespace cannot reach the rig).

    python -m bench.rig.probe <command> [args...]   -> prints one JSON document on stdout

Network checks and the user's side (make images, upload through the API, follow jobs) need
nothing but the standard library and Pillow; the `db-*` commands read the product's database
with Django (run them with the host's product environment).
"""

import argparse
import hashlib
import io
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

FINISHED = {"succeeded", "failed", "partial", "cancelled"}


def emit(value):
    print(json.dumps(value, default=str))


def wait_tcp(args):
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            socket.create_connection((args.host, args.port), timeout=1).close()
            return emit({"ok": True})
        except OSError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"{args.host}:{args.port} does not answer: {exc}")
            time.sleep(0.1)


def wait_http(args):
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            with urllib.request.urlopen(args.url, timeout=2) as response:
                return emit({"status": response.status, "body": response.read(2000).decode(errors="replace")})
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or time.monotonic() > deadline:
                return emit({"status": exc.code})
        except OSError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"{args.url} does not answer: {exc}")
        time.sleep(0.2)


def s3_client():
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def wait_s3(args):
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            s3_client().head_bucket(Bucket=os.environ["AWS_STORAGE_BUCKET_NAME"])
            return emit({"ok": True})
        except Exception as exc:
            if time.monotonic() > deadline:
                sys.exit(f"the bucket does not answer: {exc}")
            time.sleep(0.2)


def s3_keys(args):
    """How many keys there are under each prefix, and which of the expected ones are missing."""
    client, bucket = s3_client(), os.environ["AWS_STORAGE_BUCKET_NAME"]
    keys = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(entry["Key"] for entry in page.get("Contents", ()))
    expected = set(json.loads(Path(args.expected).read_text())) if args.expected else set()
    emit({
        "blobs": sum(key.startswith("blobs/") for key in keys),
        "thumbs": sum(key.startswith("thumbs/") for key in keys),
        "missing": sorted(expected - keys)[:20], "missing_count": len(expected - keys),
    })  # fmt: skip


def s3_metrics(args):
    from devtools.seaweedfs import parse_request_totals

    with urllib.request.urlopen(args.url, timeout=5) as response:
        emit(parse_request_totals(response.read().decode(), bucket=os.environ.get("AWS_STORAGE_BUCKET_NAME")))


def make_images(args):
    """`count` distinct photo-like JPEGs of ~1 MP (1155x866, q90) in `directory`."""
    from bench.bench_thumbnails import photo_like

    folder = Path(args.directory)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(args.count):
        buffer = io.BytesIO()
        photo_like(1155, 866, n).save(buffer, "JPEG", quality=90)
        (folder / f"photo-{n:05d}.jpg").write_bytes(buffer.getvalue())
    emit({"count": args.count, "bytes": sum(p.stat().st_size for p in folder.glob("*.jpg"))})


def _multipart(paths):
    boundary = f"rig-{uuid.uuid4().hex}"
    out = bytearray()
    for path in paths:
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="files"; filename="{path.name}"\r\n'.encode()
        out += b"Content-Type: image/jpeg\r\n\r\n" + path.read_bytes() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def api(url, token, payload=None, method=None, timeout=120, content_type="application/json"):
    data = payload if isinstance(payload, bytes) or payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def upload(args):
    """Upload every JPEG of `directory` through POST /api/files/, `batch` files per request."""
    paths = sorted(Path(args.directory).glob("*.jpg"))
    files, jobs, errors = [], [], []
    started = time.monotonic()
    for start in range(0, len(paths), args.batch):
        chunk = paths[start : start + args.batch]
        body, content_type = _multipart(chunk)
        reply = api(f"{args.web}/api/files/", args.token, body, content_type=content_type)
        files += [{"id": item["id"], "sha256": item["sha256"]} for item in reply["files"]]
        errors += reply["errors"]
        if reply.get("thumbnail_job_id"):
            jobs.append(reply["thumbnail_job_id"])
    local = {hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}
    emit(
        {
            "files": files,
            "thumbnail_jobs": jobs,
            "errors": errors,
            "seconds": round(time.monotonic() - started, 2),
            "shas_match": local == {item["sha256"] for item in files},
        }
    )


def wait_jobs(args):
    """Follow jobs through GET /api/jobs/<id>/ until each is finished (or the deadline passes)."""
    deadline = time.monotonic() + args.timeout
    pending, done = list(args.job_ids), {}
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            job = api(f"{args.web}/api/jobs/{job_id}/", args.token)
            if job["status"] in FINISHED:
                done[job_id] = job
                pending.remove(job_id)
        if pending:
            time.sleep(0.5)
    emit({"finished": done, "unfinished": pending})


def submit_job(args):
    payload = json.loads(args.payload)
    emit(api(f"{args.web}/api/jobs/", args.token, payload))


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()


def db_chunks(args):
    """Each chunk of the jobs: who ran it, how it ended (from JobChunk rows)."""
    _django()
    from jobs.models import Job, JobChunk

    rows = JobChunk.objects.filter(job_id__in=args.job_ids).order_by("job_id", "index")
    jobs = Job.objects.filter(pk__in=args.job_ids)
    chunk_fields = (
        "job_id",
        "index",
        "status",
        "worker",
        "attempt",
        "retries",
        "deliveries",
        "size",
        "done",
        "failed",
    )
    job_fields = ("id", "status", "total", "done", "failed", "created", "started", "finished")
    emit({"chunks": list(rows.values(*chunk_fields)), "jobs": list(jobs.values(*job_fields))})


def db_submit_thumbnails(args):
    """A thumbnails job over all of `user`'s files, with params force (the API has no force)."""
    _django()
    from django.contrib.auth import get_user_model

    import jobs
    from media_library.models import MediaFile

    owner = get_user_model().objects.get(username=args.user)
    ids = (
        MediaFile.objects.filter(owner=owner, trashed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if args.limit:
        ids = ids[: args.limit]
    job = jobs.submit("thumbnails", owner, ids.iterator(chunk_size=2000), params={"force": bool(args.force)})
    emit({"job_id": str(job.pk), "total": job.total})


def db_create_user(args):
    _django()
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(username=args.user)
    emit({"id": user.pk})


def db_blob_status(args):
    _django()
    from django.db.models import Count

    from media_library.models import Blob

    emit(
        dict(
            Blob.objects.values_list("thumbnail_status")
            .annotate(n=Count("id"))
            .values_list("thumbnail_status", "n")
        )
    )


def db_file_ids(args):
    """The ids of `user`'s files (live, or trashed with --trashed), in id order."""
    _django()
    from media_library.models import MediaFile

    files = MediaFile.objects.filter(owner__username=args.user, trashed_at__isnull=not args.trashed)
    if args.folder:
        files = files.filter(folder__name=args.folder)
    emit(list(files.order_by("id").values_list("id", flat=True)))


def db_folder_id(args):
    _django()
    from media_library.models import Folder

    emit(
        Folder.objects.filter(owner__username=args.user, name=args.name).values_list("id", flat=True).first()
    )


def lease_holder(args):
    _django()
    import redis

    from project.beat import LEASE_KEY

    value = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5).get(LEASE_KEY)
    emit(value.decode() if value else None)


def make_folder(args):
    emit(api(f"{args.web}/api/folders/", args.token, {"name": args.name, "parent_id": None}))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="probe")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("wait-tcp")
    (
        p.add_argument("host"),
        p.add_argument("port", type=int),
        p.add_argument("--timeout", type=float, default=60),
    )
    p.set_defaults(run=wait_tcp)
    p = sub.add_parser("wait-http")
    p.add_argument("url"), p.add_argument("--timeout", type=float, default=90)
    p.set_defaults(run=wait_http)
    p = sub.add_parser("wait-s3")
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(run=wait_s3)
    p = sub.add_parser("s3-keys")
    p.add_argument("--expected")
    p.set_defaults(run=s3_keys)
    p = sub.add_parser("s3-metrics")
    p.add_argument("url")
    p.set_defaults(run=s3_metrics)
    p = sub.add_parser("make-images")
    p.add_argument("directory"), p.add_argument("count", type=int)
    p.set_defaults(run=make_images)
    p = sub.add_parser("upload")
    p.add_argument("web"), p.add_argument("token"), p.add_argument("directory")
    p.add_argument("--batch", type=int, default=20)
    p.set_defaults(run=upload)
    p = sub.add_parser("wait-jobs")
    p.add_argument("web"), p.add_argument("token"), p.add_argument("job_ids", nargs="+")
    p.add_argument("--timeout", type=float, default=600)
    p.set_defaults(run=wait_jobs)
    p = sub.add_parser("submit-job")
    p.add_argument("web"), p.add_argument("token"), p.add_argument("payload")
    p.set_defaults(run=submit_job)
    p = sub.add_parser("db-chunks")
    p.add_argument("job_ids", nargs="+")
    p.set_defaults(run=db_chunks)
    p = sub.add_parser("db-submit-thumbnails")
    p.add_argument("user"), p.add_argument("--force", action="store_true")
    p.add_argument("--limit", type=int, default=0, help="only the first LIMIT files (by id)")
    p.set_defaults(run=db_submit_thumbnails)
    p = sub.add_parser("db-create-user")
    p.add_argument("user")
    p.set_defaults(run=db_create_user)
    p = sub.add_parser("db-blob-status")
    p.set_defaults(run=db_blob_status)
    p = sub.add_parser("db-file-ids")
    p.add_argument("user"), p.add_argument("--trashed", action="store_true"), p.add_argument("--folder")
    p.set_defaults(run=db_file_ids)
    p = sub.add_parser("db-folder-id")
    p.add_argument("user"), p.add_argument("name")
    p.set_defaults(run=db_folder_id)
    p = sub.add_parser("lease-holder")
    p.set_defaults(run=lease_holder)
    p = sub.add_parser("make-folder")
    p.add_argument("web"), p.add_argument("token"), p.add_argument("name")
    p.set_defaults(run=make_folder)
    from bench.rig.probe_extra import add_commands

    add_commands(sub)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
