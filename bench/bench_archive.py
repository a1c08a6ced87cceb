"""Download as ZIP: archive throughput as a real job next to the floor of reading the same blobs,
and the worker pool's peak memory for a small and a large archive.

    .venv/bin/python bench/bench_archive.py [--files 2000] [--image-kb 512] [--small 200]
        [--large 20000] [--json bench/out/bench_archive.json]

A throwaway deployment in a temp dir (its own redis-server, SQLite database and media root,
migrated by `manage.py migrate`; never var/). Seeding is direct, not `manage.py seed_demo` (whose
64x48 images weigh ~3 KB, too light for MB/s): `--files` distinct, real JPEGs of about `--image-kb`
each (8 noise images encoded once, each file with its own JPEG comment segment, so every file has
its own bytes and SHA-256), written through media_library.storage with bulk-created rows.

- floor: one process reads every blob through storage (media_library.storage.open_blob_blocks,
  the blocks the archive job reads) and does nothing with the bytes; beside it, the least any
  archiver does: read them and write them one after another into one new stored file;
- job: `submit_action(owner, "archive", folder)` (the pages' and the API's submit) run by a real
  `celery -A project worker -Q bulk,interactive --concurrency 2`, timed from Job.created to
  Archive.ready_at: planning, every chunk's part, the assembly (the tail: MISSING.txt, the
  central directory) and the final commit. MB/s counts the files' bytes. Run cold (every blob
  file dropped from the page cache with posix_fadvise, as from a library bigger than memory:
  the floor is the disk) and warm (all cached: the floor is a memory copy);
- memory: the peak RSS (VmHWM) of the worker's pool processes, each run on a fresh worker, for
  the big-image archive and for `--small` and `--large` tiny files (a few hundred bytes each,
  2,000 distinct ones shared round-robin: per-entry costs, not bytes).
"""

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_library import setup_django  # noqa: E402 -- the same throwaway deployment

MB = 1024 * 1024


def noise_jpeg(target_kb, seed):
    from PIL import Image

    rng = random.Random(seed)
    side = int((target_kb * 1024 / 1.1) ** 0.5 / 1.3) + 16  # noise at q85 weighs ~2 bytes a pixel
    image = Image.frombytes("RGB", (side * 4 // 3, side), rng.randbytes(side * 4 // 3 * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def with_comment(jpeg, text):
    """The same image with a JPEG COM segment after SOI: other bytes, the same picture."""
    comment = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


def seed(owner, folder, count, make_bytes, fmt, distinct):
    """`count` files in `folder` over `distinct` blobs (file i shows blob i % distinct)."""
    from django.core.files.base import ContentFile

    from media_library.models import Blob, MediaFile
    from media_library.storage import store_blob_bytes

    blobs = []
    for n in range(distinct):
        data = make_bytes(n)
        sha = hashlib.sha256(data).hexdigest()
        store_blob_bytes(sha, ContentFile(data))
        blobs.append(Blob(sha256=sha, size=len(data), format=fmt, width=1, height=1))
    blobs = Blob.objects.bulk_create(blobs, batch_size=1000)
    ext = ".jpg" if fmt == "JPEG" else ".png"
    rows = (
        MediaFile(
            owner=owner,
            folder=folder,
            name=f"f{n:06d}{ext}",
            blob=blobs[n % distinct],
            size=blobs[n % distinct].size,
        )
        for n in range(count)
    )
    MediaFile.objects.bulk_create(rows, batch_size=2000)
    return sum(blobs[n % distinct].size for n in range(count))


def drop_blobs_from_page_cache(folder):
    """Cold reads, as from a library bigger than memory: each blob file of the folder is synced and
    dropped from the page cache (posix_fadvise DONTNEED: these files only, nobody else's)."""
    from django.core.files.storage import default_storage

    from media_library.models import MediaFile
    from media_library.storage import blob_name

    for sha in MediaFile.objects.filter(folder=folder).values_list("blob__sha256", flat=True).distinct():
        fd = os.open(default_storage.path(blob_name(sha)), os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_floor(folder):
    """Seconds to read every blob of the folder's files through storage, once."""
    from contextlib import closing

    from media_library.models import MediaFile
    from media_library.storage import open_blob_blocks

    shas = list(
        MediaFile.objects.filter(folder=folder).order_by("name").values_list("blob__sha256", flat=True)
    )
    started = time.perf_counter()
    total = 0
    for sha in shas:
        with closing(open_blob_blocks(sha)) as blocks:
            for block in blocks:
                total += len(block)
    return time.perf_counter() - started, total


def copy_floor(folder):
    """Seconds to read every blob and write them one after another into one new stored file: the
    least any archiver does (no CRC, no headers, one process). The file is removed afterwards."""
    from contextlib import closing

    from django.core.files.storage import default_storage

    from media_library.models import MediaFile
    from media_library.storage import open_blob_blocks, open_for_writing

    shas = list(
        MediaFile.objects.filter(folder=folder).order_by("name").values_list("blob__sha256", flat=True)
    )
    name = "bench-copy-floor/all.bin"
    started = time.perf_counter()
    with open_for_writing(name) as out:
        for sha in shas:
            with closing(open_blob_blocks(sha)) as blocks:
                for block in blocks:
                    out.write(block)
    seconds = time.perf_counter() - started
    default_storage.delete(name)
    return seconds


def pool_peak_rss_mb(worker):
    import psutil

    peaks = []
    for child in psutil.Process(worker.pid).children(recursive=True):
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
        except FileNotFoundError:
            continue
        peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(peaks) if peaks else float("nan")


@contextmanager
def fresh_worker(workdir, label):
    """A real worker on both queues (--concurrency 2), started for one measurement."""
    from django.db import connection

    from devtools.processes import start_celery_worker, stop_process

    connection.close()
    log = workdir / f"worker-{label}.log"
    worker = start_celery_worker(os.environ["DATABASE_URL"], log, queues="bulk,interactive", concurrency=2)
    worker.log = log
    try:
        time.sleep(1.0)  # the pool's processes settle after the ready ping
        worker.idle_rss = pool_peak_rss_mb(worker)
        yield worker
    finally:
        stop_process(worker)


def archive_job(worker, owner, folder, label):
    """One archive of the folder, submit to ready; its files are deleted afterwards (their dirty
    pages would slow the next measurement's writes)."""
    from django.db.models import Max

    from devtools.processes import wait_until
    from jobs.models import Job
    from media_library.actions import submit_action
    from media_library.models import Archive
    from media_library.storage import delete_archive_files

    started = time.perf_counter()
    job, count = submit_action(owner, "archive", {"scope": "all", "folder_id": folder.pk})
    planned = time.perf_counter() - started
    ready = Archive.objects.filter(job=job, status=Archive.Status.READY)
    archive = wait_until(lambda: ready.first(), 900, f"{label} archive", worker, worker.log)
    job = Job.objects.get(pk=job.pk)
    delete_archive_files(job.pk)
    seconds = (archive.ready_at - job.created).total_seconds()
    # The job finishes with its ZIP; its chunks ended when the last of them did.
    chunks_ended = job.chunks.aggregate(last=Max("finished"))["last"]
    return {
        "files": count,
        "bytes": archive.bytes_total,
        "archive_bytes": archive.size,
        "chunks": job.chunk_count,
        "status": job.status,
        "submit_seconds": round(planned, 3),
        "seconds": round(seconds, 3),
        "chunks_seconds": round((chunks_ended - job.created).total_seconds(), 3),
        "assembly_seconds": round((archive.ready_at - chunks_ended).total_seconds(), 3),
        "mb_per_s": round(archive.bytes_total / MB / seconds, 1),
    }


def median_round(rounds):
    """The round with the median archive time (its own figures, not a mix of rounds)."""
    return sorted(rounds, key=lambda r: r["seconds"])[len(rounds) // 2]


def measure(args, workdir):
    from django.contrib.auth import get_user_model

    from media_library.folders import create_folder

    owner = get_user_model().objects.create_user("bench", password="bench-password-1")
    big, small, large = (create_folder(owner.pk, None, name) for name in ("Big", "Small", "Large"))
    bases = [noise_jpeg(args.image_kb, n) for n in range(8)]
    started = time.perf_counter()
    seeded = seed(
        owner, big, args.files, lambda n: with_comment(bases[n % 8], f"bench {n}"), "JPEG", args.files
    )
    print(f"seeded {args.files:,} JPEGs, {seeded / MB:,.0f} MB, in {time.perf_counter() - started:.1f} s")

    def tiny_png(n):
        return b"\x89PNG\r\n\x1a\n" + f"tiny file {n} ".encode() * 20

    seed(owner, small, args.small, tiny_png, "PNG", min(2000, args.small))
    seed(owner, large, args.large, lambda n: tiny_png(n + 10**6), "PNG", min(2000, args.large))

    def prepare(cache):
        if cache == "cold":
            drop_blobs_from_page_cache(big)
        else:
            read_floor(big)  # the page cache now holds every blob

    floors, runs = {}, {}
    for cache in ("cold", "warm"):
        reads, copies, jobs = [], [], []
        with fresh_worker(workdir, f"big-{cache}") as worker:
            for _round in range(args.rounds):
                prepare(cache)
                reads.append(read_floor(big))
                prepare(cache)
                copies.append(copy_floor(big))
                prepare(cache)
                jobs.append(archive_job(worker, owner, big, f"big-{cache}"))
                job_seconds = jobs[-1]["seconds"]
                print(f"{cache}: read {reads[-1][0]:.2f} s, copy {copies[-1]:.2f} s, job {job_seconds:.2f} s")
            peak = pool_peak_rss_mb(worker)
        total = reads[0][1]
        read = sorted(seconds for seconds, _total in reads)[len(reads) // 2]
        copy = sorted(copies)[len(copies) // 2]
        floors[cache] = {"seconds": round(read, 3), "bytes": total, "mb_per_s": round(total / MB / read, 1)}
        floors[f"{cache}_copy"] = {"seconds": round(copy, 3), "mb_per_s": round(total / MB / copy, 1)}
        runs[cache] = median_round(jobs) | {
            "pool_rss_idle_mb": round(worker.idle_rss, 1),
            "pool_rss_peak_mb": round(peak, 1),
        }
        runs[cache]["rounds"] = [job["seconds"] for job in jobs]
    for label, folder in (("small", small), ("large", large)):
        with fresh_worker(workdir, label) as worker:
            runs[label] = archive_job(worker, owner, folder, label)
            runs[label] |= {
                "pool_rss_idle_mb": round(worker.idle_rss, 1),
                "pool_rss_peak_mb": round(pool_peak_rss_mb(worker), 1),
            }
        print(f"{label}: {runs[label]['files']:,} files in {runs[label]['seconds']:.2f} s")
    return {"image_kb": args.image_kb, "rounds": args.rounds, "floor": floors, "runs": runs}


def row(*cells, widths):
    """A markdown table row: the first cell left-aligned, the others right-aligned."""
    padded = [f"{cells[0]:{widths[0]}}"] + [
        f"{cell:>{w}}" for cell, w in zip(cells[1:], widths[1:], strict=True)
    ]
    return "| " + " | ".join(padded) + " |"


def print_table(report):
    floors, runs = report["floor"], report["runs"]
    cold = runs["cold"]
    print()
    print(f"Mediaflow archive bench: {cold['files']:,} distinct JPEGs, {cold['bytes'] / MB:,.0f} MB, SQLite")
    print(
        "job = submit_action('archive') on a real worker (--concurrency 2), Job.created to Archive.ready_at"
    )
    print("cold = the blob files dropped from the page cache first (posix_fadvise), warm = all cached;")
    print(f"medians of {report['rounds']} rounds, each phase on a clean page cache (written files deleted)")
    print()
    widths = (44, 8, 7, 12)
    print(row("", "seconds", "MB/s", "of the floor", widths=widths))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cache in ("cold", "warm"):
        floor, run = floors[cache], runs[cache]
        ratio = f"{run['mb_per_s'] / floor['mb_per_s']:.0%}"
        print(row(f"{cache}: floor, read the blobs (1 process)", f"{floor['seconds']:.2f}",
                  f"{floor['mb_per_s']:.1f}", "100%", widths=widths))  # fmt: skip
        copy = floors[f"{cache}_copy"]
        copy_ratio = f"{copy['mb_per_s'] / floor['mb_per_s']:.0%}"
        print(row(f"{cache}: read + write into one file (1 process)", f"{copy['seconds']:.2f}",
                  f"{copy['mb_per_s']:.1f}", copy_ratio, widths=widths))  # fmt: skip
        print(row(f"{cache}: archive job, submit to ready", f"{run['seconds']:.2f}",
                  f"{run['mb_per_s']:.1f}", ratio, widths=widths))  # fmt: skip
        print(
            row(
                "  chunks: parts written (2 processes)", f"{run['chunks_seconds']:.2f}", "", "", widths=widths
            )
        )
        print(
            row(
                "  assembly: the tail, after the chunks",
                f"{run['assembly_seconds']:.2f}",
                "",
                "",
                widths=widths,
            )
        )
        print(row("  (of the job: submit, planning)", f"{run['submit_seconds']:.2f}", "", "", widths=widths))
    print()
    widths = (14, 7, 10, 7, 13, 13)
    print(row("archive", "files", "archive MB", "seconds", "pool RSS idle", "pool RSS peak", widths=widths))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    names = {"cold": "JPEGs (cold)", "warm": "JPEGs (warm)", "small": "tiny files", "large": "tiny files"}
    for label, run in runs.items():
        cells = (
            names[label], f"{run['files']:,}", f"{run['archive_bytes'] / MB:.1f}", f"{run['seconds']:.2f}",
            f"{run['pool_rss_idle_mb']:.1f} MB", f"{run['pool_rss_peak_mb']:.1f} MB",
        )  # fmt: skip
        print(row(*cells, widths=widths))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--image-kb", type=int, default=512)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the big-image runs (medians)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "bench_archive.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary deployment")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mediaflow-bench-archive-"))
    from devtools.processes import start_redis_server, stop_process

    redis_url, redis_proc = start_redis_server(workdir / "redis")
    try:
        setup_django(workdir, redis_url)
        report = measure(args, workdir)
    finally:
        stop_process(redis_proc)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
