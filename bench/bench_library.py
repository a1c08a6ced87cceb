"""Bulk operations over N files: set-based chunks vs a naive per-row save() loop, plus listing latency.

    .venv/bin/python bench/bench_library.py --files 100000 [--json PATH] [--seed-direct]

Runs on a throwaway SQLite database and a private redis-server in a temporary directory (migrated
first; never var/db.sqlite3).

Each bulk operation goes end to end through `media_library.operations` over all N files: resolve
the selection, then the job kind's chunks (`media_library.kinds.files.FILE_CHUNK` ids), each in its
own transaction, as the jobs engine runs them minus Celery. The naive baseline is the per-row loop
of a typical admin action (django-filer, Wagtail): load each row, check the name, save() it, one
autocommit transaction per row; it runs in the same run on a sample of the same rows (default
5,000; `--naive-sample 0` runs it on all N) and is extrapolated linearly to N.
Listing: keyset pages of 100 of the folder holding the N files, sorted by name, page 1 and 1,000.
Jobs (unless --no-jobs): each operation again over all N files as one real job (jobs.submit) run
by a real Celery worker, timed from submit to the job's final state.

Seeding: `manage.py seed_demo` (real, distinct images through the ingest path; ~2-3 minutes for
100,000). `--seed-direct` inserts the rows with bulk_create instead, sharing a few real PNG blobs:
a shortcut for quick runs, labelled as such in the output (the operations never read the bytes).
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(workdir, redis_url=None):
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["MEDIAFLOW_VAR_DIR"] = str(workdir / "var")
    os.environ["JOBS_EXTRA_KIND_MODULES"] = ""  # no test-only job kinds in the measured worker
    if redis_url:  # the private redis-server of the end-to-end part; set before settings are read
        os.environ.update(REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed_rows(owner, count, folder):
    """N rows in one folder sharing 8 real PNG blobs (a shortcut: the operations never read bytes)."""
    import hashlib
    import io

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from media_library.models import Blob, MediaFile

    blobs = []
    for n in range(8):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 24), (n * 30, 90, 200 - n * 20)).save(buffer, "PNG")
        data = buffer.getvalue()
        blob = Blob.objects.create(
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), format="PNG", width=32, height=24
        )
        default_storage.save(blob.storage_name, ContentFile(data))
        blobs.append(blob)
    for start in range(0, count, 10_000):
        MediaFile.objects.bulk_create(
            MediaFile(
                owner=owner,
                folder=folder,
                name=f"img-{i:06}.png",
                blob=blobs[i % len(blobs)],
                size=blobs[i % len(blobs)].size,
            )
            for i in range(start, min(count, start + 10_000))
        )


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def run_chunks(kind, operation, ids):
    """The operation over all ids in the job kind's chunks, one transaction each, as the engine does."""
    from django.db import transaction

    from jobs.registry import get_kind

    chunk = get_kind(kind).chunk_size
    done, failures = 0, 0
    for offset in range(0, len(ids), chunk):
        with transaction.atomic():
            result = operation(ids[offset : offset + chunk], offset)
        done += result.done
        failures += len(result.failures)
    return done, failures


# --- the naive per-row loops (one save() and its own autocommit transaction per row) -----------


def naive_trash(owner, ids):
    from django.utils import timezone

    from media_library.models import MediaFile

    for file in MediaFile.objects.filter(pk__in=ids):
        file.trashed_from_id, file.folder_id, file.trashed_at = file.folder_id, None, timezone.now()
        file.save()


def naive_restore(owner, ids):
    from media_library.models import Folder, MediaFile

    for file in MediaFile.objects.filter(pk__in=ids):
        if not Folder.objects.filter(pk=file.trashed_from_id).exists():
            file.trashed_from_id = None
        if MediaFile.objects.filter(
            owner=owner, folder_id=file.trashed_from_id, name=file.name, trashed_at=None
        ).exists():
            file.name = f"restored {file.pk} {file.name}"
        file.folder_id, file.trashed_at, file.trashed_from_id = file.trashed_from_id, None, None
        file.save()


def naive_move(owner, ids, target):
    from media_library.models import MediaFile

    for file in MediaFile.objects.filter(pk__in=ids):
        if MediaFile.objects.filter(owner=owner, folder=target, name=file.name, trashed_at=None).exists():
            file.name = f"moved {file.pk} {file.name}"
        file.folder = target
        file.save()


def naive_copy(owner, ids, target):
    from media_library.models import MediaFile

    for file in MediaFile.objects.filter(pk__in=ids):
        name = file.name
        if MediaFile.objects.filter(owner=owner, folder=target, name=name, trashed_at=None).exists():
            name = f"copy {file.pk} {name}"
        MediaFile.objects.create(owner=owner, folder=target, name=name, blob_id=file.blob_id, size=file.size)


def naive_rename(owner, ids):
    from media_library.models import MediaFile

    for n, file in enumerate(MediaFile.objects.filter(pk__in=ids).order_by("name", "id"), start=1):
        name = f"naive-{n:06}.png"
        if MediaFile.objects.filter(
            owner=owner, folder_id=file.folder_id, name=name, trashed_at=None
        ).exists():
            name = f"naive-{n:06}-{file.pk}.png"
        file.name = name
        file.save()


# --- the run -----------------------------------------------------------------------------------


def resolve_selection(owner_id, action, folder_id=None):
    """All the files of a folder an action takes, as the action bar's "select all" resolves them."""
    from media_library.actions import get_action
    from media_library.actions.selection import resolve

    return resolve(owner_id, get_action(action), {"scope": "all", "folder_id": folder_id})


def measure(count, sample_size, seed_direct):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from media_library import operations
    from media_library.folders import create_folder
    from media_library.kinds.files import FILE_CHUNK
    from media_library.listing import list_files
    from media_library.models import MediaFile

    owner = get_user_model().objects.create_user("bench", password="bench-password-123")
    source = create_folder(owner.pk, None, "Seed")
    if seed_direct:
        seeding = "direct bulk_create sharing 8 real PNG blobs (seed_demo not used)"
        seed_seconds, _ = timed(lambda: seed_rows(owner, count, source))
    else:
        seeding = "manage.py seed_demo (real images through the ingest path)"
        seed_seconds, _ = timed(lambda: call_command("seed_demo", user="bench", files=count))
    n = MediaFile.objects.filter(owner=owner, trashed_at__isnull=True).count()
    print(f"seeded {n:,} files in {seed_seconds:.1f} s: {seeding}", flush=True)

    def live_ids():
        live = MediaFile.objects.filter(owner=owner, trashed_at__isnull=True)
        return list(live.order_by("id").values_list("id", flat=True))

    def trashed_ids():
        trashed = MediaFile.objects.filter(owner=owner, trashed_at__isnull=False)
        return list(trashed.order_by("id").values_list("id", flat=True))

    sample = live_ids()[:sample_size]
    factor = n / len(sample)
    ops, extra = {}, {}  # the five operations; trash of files in a folder

    def record(op, bulk_seconds, naive_seconds, done):
        results = extra if op == "trash_in_folder" else ops
        results[op] = {"seconds": round(bulk_seconds, 3), "naive_seconds": round(naive_seconds * factor, 3)}
        ratio = results[op]["naive_seconds"] / bulk_seconds
        naive = results[op]["naive_seconds"]
        print(
            f"  {op:15} bulk {bulk_seconds:7.2f} s ({done:,} done)  naive ~{naive:8.1f} s  {ratio:5.0f}x",
            flush=True,
        )

    owner_id = owner.pk
    # trash / restore: the naive loop trashes and restores the sample first, then bulk does all N.
    naive_t, _ = timed(lambda: naive_trash(owner, sample))
    naive_r, _ = timed(lambda: naive_restore(owner, sample))
    bulk_t, (done_t, _) = timed(
        lambda: run_chunks("trash", lambda ids, _o: operations.trash(owner_id, ids), live_ids())
    )
    record("trash", bulk_t, naive_t, done_t)
    bulk_r, (done_r, _) = timed(
        lambda: run_chunks(
            "restore",
            lambda ids, _o: operations.restore(owner_id, ids),
            trashed_ids(),
        )
    )
    record("restore", bulk_r, naive_r, done_r)

    target = create_folder(owner_id, None, "Target")
    naive_target = create_folder(owner_id, None, "Naive target")
    naive_m, _ = timed(lambda: naive_move(owner, sample, naive_target))
    bulk_m, (done_m, _) = timed(
        lambda: run_chunks("move", lambda ids, _o: operations.move(owner_id, ids, target.pk), live_ids())
    )
    record("move", bulk_m, naive_m, done_m)

    # seed_demo seeds the library root; trashing files *in a folder* moves more index entries, so
    # it is measured too (reported beside "ops", whose trash row is the seeded root files).
    naive_f, _ = timed(lambda: naive_trash(owner, sample))
    naive_restore(owner, sample)
    bulk_f, (done_f, _) = timed(
        lambda: run_chunks("trash", lambda ids, _o: operations.trash(owner_id, ids), live_ids())
    )
    record("trash_in_folder", bulk_f, naive_f, done_f)
    run_chunks("restore", lambda ids, _o: operations.restore(owner_id, ids), trashed_ids())

    copies = create_folder(owner_id, None, "Copies")
    naive_copies = create_folder(owner_id, None, "Naive copies")
    naive_c, _ = timed(lambda: naive_copy(owner, sample, naive_copies))
    bulk_c, (done_c, _) = timed(
        lambda: run_chunks(
            "copy",
            lambda ids, _o: operations.copy(owner_id, ids, copies.pk, copy_key="bench"),
            list(resolve_selection(owner_id, "copy", folder_id=target.pk)),
        )
    )
    record("copy", bulk_c, naive_c, done_c)

    naive_n, _ = timed(lambda: naive_rename(owner, sample))
    bulk_n, (done_n, _) = timed(
        lambda: run_chunks(
            "rename",
            lambda ids, offset: operations.rename(owner_id, ids, "photo-{n:06}{ext}", offset=offset),
            list(resolve_selection(owner_id, "rename", folder_id=target.pk)),
        )
    )
    record("rename", bulk_n, naive_n, done_n)

    # Listing the folder that now holds the N originals: keyset pages of 100 by name.
    page_times, cursor, pages = {}, None, 0
    while pages < 1000:
        started = time.perf_counter()
        _rows, next_cursor = list_files(owner_id, target.pk, cursor=cursor, limit=100)
        elapsed = (time.perf_counter() - started) * 1000
        pages += 1
        page_times.setdefault(pages, []).append(elapsed)
        if next_cursor is None:
            break
        if pages == 999:
            cursor_999 = next_cursor
        cursor = next_cursor
    repeats = {"page1": None, "page1000": cursor_999 if pages == 1000 else None}
    list_ms = {}
    for label, page_cursor in repeats.items():
        if label == "page1000" and page_cursor is None:
            continue
        samples = []
        for _ in range(7):
            started = time.perf_counter()
            list_files(owner_id, target.pk, cursor=page_cursor, limit=100)
            samples.append((time.perf_counter() - started) * 1000)
        list_ms[label] = round(statistics.median(samples), 2)
    deep = list_ms.get("page1000", float("nan"))
    print(f"  listing  page 1 {list_ms['page1']:.2f} ms, page 1,000 {deep:.2f} ms (median of 7)")
    connection.close()
    return {
        "files": n,
        "seeding": seeding,
        "naive_sample": len(sample),
        "chunk": FILE_CHUNK,
        "ops": ops,
        "extra_ops": extra,
        "list_ms": list_ms,
        "folder_id": target.pk,
        "owner_id": owner_id,
    }


# --- end to end: the same operations as real jobs on a real Celery worker -----------------------


def run_jobs(workdir, owner_id, folder_id):
    """Each operation over all N files as one job (jobs.submit, as the API and pages do), run by a
    real worker (`-Q interactive,bulk --concurrency 2`) on the private Redis: seconds from submit
    (Job.created) to Job.finished, i.e. selection, chunking, dispatch, every chunk, the final state."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from devtools.processes import start_celery_worker, stop_process, wait_until
    from jobs import submit
    from jobs.models import Job
    from media_library.folders import create_folder

    owner = get_user_model().objects.get(pk=owner_id)
    moved, copies = create_folder(owner_id, None, "Jobs"), create_folder(owner_id, None, "Jobs copies")
    connection.close()  # the worker opens its own connections to the same database file
    worker = start_celery_worker(os.environ["DATABASE_URL"], workdir / "worker.log")

    def files_in(folder_id, action):
        return lambda: resolve_selection(owner_id, action, folder_id=folder_id)

    plan = [  # the N originals sit in `folder_id` after the chunked runs
        ("trash", {}, files_in(folder_id, "trash")),
        ("restore", {}, files_in(folder_id, "restore")),  # restore selects by trashed-from folder
        ("move", {"target_folder_id": moved.pk}, files_in(folder_id, "move")),
        ("copy", {"target_folder_id": copies.pk}, files_in(moved.pk, "copy")),
        ("rename", {"pattern": "job-{n:06}{ext}"}, files_in(moved.pk, "rename")),
    ]
    timings = {}
    try:
        for kind, params, ids in plan:
            started = time.perf_counter()
            job = submit(kind, owner, ids(), params=params)
            finished = Job.objects.filter(pk=job.pk, status__in=Job.FINISHED)
            row = wait_until(
                lambda finished=finished: finished.values(
                    "created", "finished", "status", "done", "total"
                ).first(),
                300,
                f"{kind} job",
                worker,
                workdir / "worker.log",
            )
            wall = time.perf_counter() - started
            seconds = (row["finished"] - row["created"]).total_seconds()
            timings[kind] = {"seconds": round(seconds, 3), "status": row["status"], "done": row["done"]}
            print(
                f"  job {kind:8} {seconds:6.2f} s submit to finished ({wall:.2f} s here)"
                f"  {row['status']}, {row['done']:,} of {row['total']:,}",
                flush=True,
            )
    finally:
        stop_process(worker)
    return timings


def print_table(report):
    print()
    print(f"Mediaflow library bench: {report['files']:,} files, SQLite, {report['chunk']}-id chunks")
    print(f"seeded by {report['seeding']}")
    sample = report["naive_sample"]
    print(f"naive = per-row save() loop timed on {sample:,} of the same rows, extrapolated linearly to N")
    print()
    print(f"| {'operation':15} | {'bulk (s)':>9} | {'naive (s)':>10} | {'speed-up':>8} |")
    print(f"|{'-' * 17}|{'-' * 11}|{'-' * 12}|{'-' * 10}|")
    for op, row in (report["ops"] | report["extra_ops"]).items():
        speedup = row["naive_seconds"] / row["seconds"] if row["seconds"] else float("inf")
        print(f"| {op:15} | {row['seconds']:9.2f} | {row['naive_seconds']:10.1f} | {speedup:7.0f}x |")
    print()
    print(
        f"listing (keyset, 100 a page, sort by name): page 1 {report['list_ms']['page1']:.2f} ms,"
        f" page 1,000 {report['list_ms'].get('page1000', float('nan')):.2f} ms"
    )
    if report.get("jobs"):
        print()
        print("as real jobs (jobs.submit, a real Celery worker, Redis), submit to final state:")
        print(f"| {'job':9} | {'seconds':>8} | {'status':>9} | {'done':>8} |")
        print(f"|{'-' * 11}|{'-' * 10}|{'-' * 11}|{'-' * 10}|")
        for op, row in report["jobs"].items():
            print(f"| {op:9} | {row['seconds']:8.2f} | {row['status']:>9} | {row['done']:8,} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--naive-sample", type=int, default=5_000, help="rows the naive loop runs on")
    parser.add_argument(
        "--seed-direct", action="store_true", help="bulk_create the rows instead of seed_demo (a shortcut)"
    )
    parser.add_argument("--no-jobs", action="store_true", help="skip the runs as real jobs on a worker")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database directory")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mediaflow-bench-"))
    from devtools.processes import start_redis_server, stop_process

    redis_url, redis_proc = start_redis_server(workdir / "redis")
    try:
        setup_django(workdir, redis_url)
        sample = args.files if args.naive_sample <= 0 else min(args.naive_sample, args.files)
        report = measure(args.files, sample, args.seed_direct)
        if not args.no_jobs:
            report["jobs"] = run_jobs(workdir, report["owner_id"], report["folder_id"])
    finally:
        stop_process(redis_proc)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(report)
    if args.json:
        keys = ("files", "ops", "extra_ops", "list_ms", "jobs")
        args.json.write_text(json.dumps({k: report[k] for k in keys if k in report}, indent=2) + "\n")


if __name__ == "__main__":
    main()
