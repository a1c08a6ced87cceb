#!/usr/bin/env python3
"""Thumbnail speed: Mediaflow's pipeline next to easy-thumbnails, naive Pillow and the decode floor.

    .venv/bin/python bench/bench_thumbnails.py [--images N] [--repeats R] [--json PATH] [--e2e]

Generates its inputs (photo-like 12 MP JPEGs at q90, 4 MP PNGs, 1 MP JPEGs) under bench/out/, then
times, per input type, in fresh worker processes run one after another, round after round:

  ours             media_library.imaging making the 256 px WebP thumbnail (the output the others make)
  ours_both        what the thumbnails job does per blob: 1024 px preview + 256 px thumbnail, one decode
  easy_thumbnails  easy-thumbnails' default pipeline (get_thumbnailer(...).generate_thumbnail, 256x256),
                   from PyPI in its own virtualenv (bench/out/.venv-easy-thumbnails, same Pillow)
  naive            Image.open -> resize to 256 px (no EXIF, no encode)
  floor            Image.open -> draft() to 256 px -> load(): JPEG decode and nothing else
  floor_1024       the same floor for the 1024 px preview (what ours_both is bounded by)

Times are CPU time per image in the worker (medians over images x rounds): the machine's two cores
are shared, and CPU time is what a core spends, so images/s per core = 1000 / ms. Peak RSS is the
worker's VmHWM (high-water mark, interpreter included).

--e2e adds the end-to-end part, through the real job engine in a throwaway deployment (a temp dir
with its own redis-server, SQLite database and media root; migrated by `manage.py migrate`): N
(default 1,000) distinct, seeded 12 MP JPEGs stored as Blob + MediaFile rows with their bytes in
default_storage, then one `thumbnails` job over all their file ids (jobs.submit) run by a real
`celery -A project worker -Q bulk --concurrency 2 --pool prefork`, timed from submit (Job.created)
to Job.finished. The single-core rate comes from the same job with `--concurrency 1` over 200 other
images (half before, half after the 2-worker run); the table compares 2 workers with 2x that rate.
"""

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
EASY_VENV = OUT / ".venv-easy-thumbnails"
EASY_REQUIREMENTS = ["easy-thumbnails==2.10.1", "Django==5.2.19"]  # + the Pillow version we run
INPUTS = {  # name: (format, width, height)
    "jpeg12mp": ("JPEG", 4000, 3000),
    "png4mp": ("PNG", 2310, 1732),
    "jpeg1mp": ("JPEG", 1155, 866),
}
METHODS = ["ours", "ours_both", "easy_thumbnails", "naive", "floor", "floor_1024"]
MAX_PIXELS = 80_000_000


# ---------------------------------------------------------------------------------------- inputs


def photo_like(width, height, variant):
    """Smooth colour fields, mid-scale texture, fine grain and a gradient: compresses like a photo."""
    from PIL import Image, ImageChops

    def noise(scale, sigma):
        size = (max(1, width // scale), max(1, height // scale))
        return Image.effect_noise(size, sigma).resize((width, height), Image.Resampling.BICUBIC)

    fields = Image.merge("RGB", [ImageChops.blend(noise(40, 60), noise(6, 40), 0.35) for _ in "RGB"])
    grain = Image.merge("RGB", [Image.effect_noise((width, height), 30) for _ in "RGB"])
    gradient = Image.linear_gradient("L").rotate(variant * 37 % 360).resize((width, height)).convert("RGB")
    return ImageChops.blend(ImageChops.blend(fields, grain, 0.25), gradient, 0.3)


def encode(im, fmt):
    out = io.BytesIO()
    im.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def make_inputs(count):
    paths = {}
    for name, (fmt, width, height) in INPUTS.items():
        folder = OUT / "inputs" / name
        folder.mkdir(parents=True, exist_ok=True)
        paths[name] = []
        for n in range(count):
            path = folder / f"{n:03}.{fmt.lower()}"
            if not path.exists():  # generated once, reused by later runs
                path.write_bytes(encode(photo_like(width, height, n), fmt))
            paths[name].append(str(path))
    return paths


# ------------------------------------------------------------------------- worker (fresh process)


def fit(size, bound):
    width, height = size
    scale = min(1.0, bound / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def method_function(method):
    from PIL import Image

    if method in ("ours", "ours_both"):
        sys.path.insert(0, str(ROOT))
        from media_library.imaging import render_renditions

        sizes = (256,) if method == "ours" else (1024, 256)
        return lambda path: render_renditions(path, sizes, max_pixels=MAX_PIXELS)
    if method == "easy_thumbnails":
        import django
        from django.conf import settings

        settings.configure(INSTALLED_APPS=["easy_thumbnails"], USE_TZ=True)
        django.setup()
        from easy_thumbnails.files import get_thumbnailer

        def easy(path):
            with open(path, "rb") as source:
                get_thumbnailer(source, relative_name=Path(path).name).generate_thumbnail(
                    {"size": (256, 256)}
                )

        return easy
    if method == "naive":
        return lambda path: Image.open(path).resize(fit(Image.open(path).size, 256))

    bound = 1024 if method == "floor_1024" else 256

    def floor(path):
        with Image.open(path) as im:
            im.draft("RGB", fit(im.size, bound))
            im.load()

    return floor


def peak_rss_mb_of_this_process():
    """VmHWM: unlike ru_maxrss, it starts afresh at exec (ru_maxrss keeps the forking parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(method, paths):
    run = method_function(method)
    run(paths[0])  # warm-up: imports, codec set-up
    cpu_ms, wall_ms = [], []
    for path in paths:
        cpu, wall = time.process_time(), time.perf_counter()
        run(path)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        wall_ms.append((time.perf_counter() - wall) * 1000)
    peak_rss_mb = peak_rss_mb_of_this_process()
    print(json.dumps({"cpu_ms": cpu_ms, "wall_ms": wall_ms, "peak_rss_mb": peak_rss_mb}))


# --------------------------------------------------------------------------------- orchestration


def ensure_easy_thumbnails_venv():
    python = EASY_VENV / "bin" / "python"
    if not python.exists():
        import PIL

        print(f"creating {EASY_VENV.relative_to(ROOT)} (easy-thumbnails from PyPI) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EASY_VENV)], check=True)
        pins = [*EASY_REQUIREMENTS, f"Pillow=={PIL.__version__}"]
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins], check=True
        )
    return python


def run_worker(python, method, paths):
    proc = subprocess.run(
        [str(python), __file__, "--worker", method, *paths], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{method} worker failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def microbench(count, repeats, skip_easy):
    inputs = make_inputs(count)
    easy_python = None if skip_easy else ensure_easy_thumbnails_venv()
    methods = [m for m in METHODS if not (skip_easy and m == "easy_thumbnails")]
    samples = {(name, m): {"cpu_ms": [], "wall_ms": [], "rss": 0.0} for name in INPUTS for m in methods}
    for round_no in range(repeats):  # rounds interleave methods, so background load hits all alike
        print(f"round {round_no + 1}/{repeats} ...", flush=True)
        for name, paths in inputs.items():
            for method in methods:
                python = easy_python if method == "easy_thumbnails" else sys.executable
                result = run_worker(python, method, paths)
                sample = samples[(name, method)]
                sample["cpu_ms"] += result["cpu_ms"]
                sample["wall_ms"] += result["wall_ms"]
                sample["rss"] = max(sample["rss"], result["peak_rss_mb"])
    return {
        key: {
            "ms": statistics.median(s["cpu_ms"]),
            "wall_ms": statistics.median(s["wall_ms"]),
            "rss": s["rss"],
        }
        for key, s in samples.items()
    }


def print_table(results, count, repeats):
    print(f"\nThumbnails, {count} images per type x {repeats} rounds; median CPU ms per image (1 core)\n")
    header = f"{'input':<9} {'pipeline':<17} {'ms/image':>9} {'images/s':>9} {'peak RSS':>9}  {'ours is':>8}"
    print(header)
    print("-" * len(header))
    for name in INPUTS:
        ours = results[(name, "ours")]["ms"]
        for method in METHODS:
            if (name, method) not in results:
                continue
            r = results[(name, method)]
            speedup = f"{r['ms'] / ours:.1f}x" if method in ("easy_thumbnails", "naive") else ""
            rate = 1000 / r["ms"]
            print(f"{name:<9} {method:<17} {r['ms']:>9.1f} {rate:>9.1f} {r['rss']:>7.0f}MB  {speedup:>8}")
    j = {m: results.get(("jpeg12mp", m), {}).get("ms") for m in METHODS}
    print("\nTargets on jpeg12mp:")
    if j["easy_thumbnails"]:
        print(f"  easy_thumbnails / ours = {j['easy_thumbnails'] / j['ours']:.1f}x (>= 5x)")
        both = j["easy_thumbnails"] / j["ours_both"]
        print(f"  easy_thumbnails / ours_both = {both:.1f}x (ours making the 1024 px preview as well)")
    print(f"  floor / ours = {j['floor'] / j['ours']:.2f} (>= 0.7)")
    print(f"  floor_1024 / ours_both = {j['floor_1024'] / j['ours_both']:.2f} (the preview's own floor)")
    rss = max(results[(n, m)]["rss"] for n in INPUTS for m in ("ours", "ours_both"))
    print(f"  peak RSS of our worker processes = {rss:.0f} MB (< 300 MB)")


def results_json(results):
    out = {}
    for name in INPUTS:
        r = {m: results.get((name, m)) for m in METHODS}
        out[name] = {
            "ours_ms": r["ours"]["ms"],
            "easy_thumbnails_ms": r["easy_thumbnails"]["ms"] if r["easy_thumbnails"] else None,
            "naive_ms": r["naive"]["ms"],
            "floor_ms": r["floor"]["ms"],
            "ours_peak_rss_mb": max(r["ours"]["rss"], r["ours_both"]["rss"]),
            "ours_both_ms": r["ours_both"]["ms"],
            "floor_1024_ms": r["floor_1024"]["ms"],
        }
    return out


# ------------------------------------------------------------------------------ end to end (--e2e)

E2E_BASES = 8  # distinct photo-like pictures; every image also gets its own bytes (below)
E2E_SECRET_KEY = "bench-only-throwaway-secret-key-0123456789abcdef"


def with_comment(jpeg, text):
    """The JPEG with a COM segment after SOI: distinct bytes (so a distinct blob), same decode work."""
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def point_django_at(tmp, redis_url):
    """Environment of a throwaway deployment under `tmp`; set before django.setup() reads settings."""
    database_url = f"sqlite:///{tmp / 'db.sqlite3'}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        MEDIAFLOW_VAR_DIR=str(tmp),
        MEDIA_ROOT=str(tmp / "media"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        DEBUG="0",
        SECRET_KEY=E2E_SECRET_KEY,
        JOBS_EXTRA_KIND_MODULES="",  # no test-only job kinds in the measured worker
        LOG_LEVEL="WARNING",
    )
    return database_url


def migrate_and_setup(database_url):
    from devtools.processes import child_env

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=child_env(database_url),
        check=True,
    )
    import django

    django.setup()


def seed_files(owner, count):
    """`count` distinct 12 MP JPEGs for `owner`, as ingest leaves them: bytes in default_storage at
    blob.storage_name, a pending Blob row and one MediaFile each. Rows are bulk-inserted directly
    (ingest's per-upload verification would fully decode every 12 MP image first)."""
    from django.core.files.base import ContentFile

    from media_library.models import Blob, MediaFile
    from media_library.storage import store_blob_bytes

    bases = [encode(photo_like(4000, 3000, 100 + n), "JPEG") for n in range(min(E2E_BASES, count))]
    for start in range(0, count, 500):
        blobs, names = [], {}
        for n in range(start, min(count, start + 500)):
            data = with_comment(bases[n % len(bases)], f"mediaflow bench seed {n}")
            sha256 = hashlib.sha256(data).hexdigest()
            store_blob_bytes(sha256, ContentFile(data))
            blobs.append(Blob(sha256=sha256, size=len(data), format="JPEG", width=4000, height=3000))
            names[sha256] = f"IMG_{n:05}.jpg"
        Blob.objects.bulk_create(blobs)
        created = Blob.objects.filter(sha256__in=names).values_list("sha256", "id", "size")
        MediaFile.objects.bulk_create(
            MediaFile(owner=owner, name=names[sha256], blob_id=blob_id, size=size)
            for sha256, blob_id, size in created
        )
    return list(MediaFile.objects.filter(owner=owner).order_by("name").values_list("id", flat=True))


def start_worker(tmp, database_url, concurrency):
    """`celery -A project worker -Q bulk --concurrency N --pool prefork`, ready when it answers ping."""
    from devtools.processes import child_env, free_port, wait_until
    from project.celery import app

    name = f"bench-c{concurrency}-{free_port()}@localhost"
    log_path = tmp / f"worker-{name.split('@')[0]}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "project", "worker", "-Q", "bulk", "-n", name,
             "--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=child_env(database_url), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def answers_ping():
        return any(name in reply for reply in app.control.ping(destination=[name], timeout=0.5) or [])

    wait_until(answers_ping, 60, f"celery worker {name}", proc, log_path)
    proc.log_path = log_path
    return proc


def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_busy_seconds():
    """CPU seconds all processes of the machine have spent busy (every core), from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def timed_job(owner, ids, worker, concurrency):
    """Submit one `thumbnails` job over `ids`; seconds from Job.created (submit) to Job.finished."""
    import psutil

    from devtools.processes import wait_until
    from jobs import submit
    from jobs.models import Job

    tree = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]

    def cpu_seconds():  # the worker's own CPU: the main process (consumer) and its pool processes
        return sum(p.cpu_times().user + p.cpu_times().system for p in tree)

    cpu_before, busy_before, load_before = cpu_seconds(), machine_busy_seconds(), os.getloadavg()[0]
    job = submit("thumbnails", owner, ids)
    finished = Job.objects.filter(pk=job.pk, status__in=Job.FINISHED)
    row = wait_until(
        lambda: finished.values("created", "finished", "status", "done", "failed").first(),
        60 + 2 * len(ids),
        "thumbnails job",
        worker,
        worker.log_path,
    )
    cpu, seconds = cpu_seconds() - cpu_before, (row["finished"] - row["created"]).total_seconds()
    # Everything else the machine ran meanwhile (other sessions' tests, this process's polling).
    others = max(0.0, machine_busy_seconds() - busy_before - cpu)
    return {
        "workers": concurrency,
        "images": len(ids),
        "status": row["status"],
        "done": row["done"],
        "failed": row["failed"],
        "seconds": seconds,
        "images_per_s": len(ids) / seconds,
        "cpu_ms_per_image": cpu * 1000 / len(ids),
        "cores_used": cpu / seconds,
        "other_processes_cores": others / seconds,
        "peak_rss_mb": max(peak_rss_mb(p.pid) for p in tree[1:]),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
    }


def run_e2e(count, single_count):
    import tempfile

    sys.path.insert(0, str(ROOT))
    from devtools.processes import start_redis_server, stop_process

    tmp = Path(tempfile.mkdtemp(prefix="mediaflow-bench-thumbs-"))
    redis_proc = None
    try:
        redis_url, redis_proc = start_redis_server(tmp / "redis")
        database_url = point_django_at(tmp, redis_url)
        migrate_and_setup(database_url)
        from django.contrib.auth import get_user_model

        owner = get_user_model().objects.create_user("bench")
        print(
            f"\nEnd to end: seeding {single_count} + {count} distinct 12 MP JPEGs under {tmp} ...", flush=True
        )
        ids = seed_files(owner, single_count + count)
        # One worker on half of its own images before and half after the two-worker run, so the
        # single-core rate sees the same background load (the machine is shared). Every run is over
        # fresh blobs: the real after-ingest path, no skipped work, no forced regeneration.
        half = single_count // 2
        plan = [(1, ids[:half]), (2, ids[single_count:]), (1, ids[half:single_count])]
        runs = []
        for concurrency, run_ids in plan:
            worker = start_worker(tmp, database_url, concurrency)
            try:
                runs.append(timed_job(owner, run_ids, worker, concurrency))
            finally:
                stop_process(worker)
        from media_library.models import Blob

        ready = Blob.objects.filter(thumbnail_status=Blob.Thumbnail.READY).count()
    finally:
        from django.apps import apps
        from django.db import connections

        if apps.ready:
            connections.close_all()
        if redis_proc is not None:
            stop_process(redis_proc)
        shutil.rmtree(tmp, ignore_errors=True)  # gigabytes of seeded originals
    return e2e_report(runs, ready)


def e2e_report(runs, ready):
    before, both, after = runs
    single_rate = (before["images"] + after["images"]) / (before["seconds"] + after["seconds"])
    ratio = both["images_per_s"] / (2 * single_rate)
    projected = 2 * 1000 / both["cpu_ms_per_image"]
    print("\nA `thumbnails` job via jobs.submit, run by a real Celery worker (-Q bulk --pool prefork);")
    print("seconds = Job.created (submit) to Job.finished\n")
    header = (
        f"{'run':<12} {'images':>7} {'status':>10} {'seconds':>8} {'images/s':>9} {'CPU ms/img':>11}"
        f" {'cores used':>11} {'others':>7} {'peak RSS':>9} {'load avg':>11}"
    )
    print(header)
    print("-" * len(header))
    for label, r in (("1 worker a", before), ("2 workers", both), ("1 worker b", after)):
        load = f"{r['load_average_before']:.1f}->{r['load_average_after']:.1f}"
        print(
            f"{label:<12} {r['images']:>7} {r['status']:>10} {r['seconds']:>8.1f} {r['images_per_s']:>9.1f}"
            f" {r['cpu_ms_per_image']:>11.1f} {r['cores_used']:>11.2f} {r['other_processes_cores']:>7.2f}"
            f" {r['peak_rss_mb']:>7.0f}MB {load:>11}"
        )
    total = sum(r["images"] for r in runs)
    print(f"\nsingle core (1 worker a + b): {single_rate:.1f} images/s; 2x that: {2 * single_rate:.1f}")
    print(f"2 workers: {both['images_per_s']:.1f} images/s = {ratio:.2f} of 2x single core")
    print(f"blobs ready: {ready} of {total}")
    print(f"on 2 free cores (2 x 1000 / CPU ms per image of the 2-worker run): {projected:.1f} images/s")
    print(
        "(CPU ms/img and cores used count the worker's main process and its pool processes; others: the\n"
        " cores the rest of the machine kept busy meanwhile (/proc/stat), so 2 workers can use at most\n"
        " 2 - others; peak RSS is the largest pool process's VmHWM; load avg: the machine's 1-minute\n"
        " load before->after a run)"
    )
    return {
        "images": both["images"],
        "workers": both["workers"],
        "seconds": both["seconds"],
        "images_per_s": both["images_per_s"],
        "single_core_images_per_s": single_rate,
        "ratio_to_2x": ratio,
        "single_core_images": before["images"] + after["images"],
        "blobs_ready": ready,
        "projected_images_per_s_on_2_free_cores": projected,
        "runs": {"one_worker_before": before, "two_workers": both, "one_worker_after": after},
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=5, help="images per input type (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over all methods (default 3)")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON to PATH")
    parser.add_argument("--skip-easy-thumbnails", action="store_true", help="no PyPI access: leave (b) out")
    parser.add_argument("--e2e", action="store_true", help="also run the end-to-end job part")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end part")
    parser.add_argument("--e2e-images", type=int, default=1000, help="12 MP JPEGs for --e2e (default 1000)")
    parser.add_argument(
        "--e2e-single-images",
        type=int,
        default=200,
        help="12 MP JPEGs for the 1-worker baseline (default 200)",
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], args.worker[1:])

    report = {}
    if not args.e2e_only:
        results = microbench(args.images, args.repeats, args.skip_easy_thumbnails)
        print_table(results, args.images, args.repeats)
        report = results_json(results)
    if args.e2e or args.e2e_only:
        report["e2e"] = run_e2e(args.e2e_images, args.e2e_single_images)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
