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

--e2e adds the end-to-end part: N (default 1,000) seeded, distinct 12 MP JPEGs stored as blobs in a
scratch SQLite database + media root under bench/out/e2e, then the `thumbnails` kind's chunk handler
over all of them from 2 worker processes (multiprocessing, chunks of the kind's chunk size, like
Celery workers with prefetch 1), against 2x the rate of 1 process. Until the jobs engine is merged
this drives the handler directly, not through jobs.submit.
"""

import argparse
import hashlib
import io
import json
import multiprocessing
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

E2E_DIR = OUT / "e2e"
E2E_BASES = 8  # distinct photo-like pictures; every image also gets its own bytes (below)


def with_comment(jpeg, text):
    """The JPEG with a COM segment after SOI: distinct bytes (so a distinct blob), same decode work."""
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def setup_scratch_django():
    shutil.rmtree(E2E_DIR, ignore_errors=True)
    (E2E_DIR / "var").mkdir(parents=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        MEDIAFLOW_VAR_DIR=str(E2E_DIR / "var"),
        MEDIA_ROOT=str(E2E_DIR / "media"),
        DATABASE_URL=f"sqlite:///{E2E_DIR / 'var' / 'db.sqlite3'}",
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-0123456789abcdef",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed_blobs(count):
    """`count` distinct 12 MP JPEGs stored as blobs, one MediaFile each, for one owner."""
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from media_library.models import Blob, MediaFile

    owner = get_user_model().objects.create_user("bench")
    bases = [encode(photo_like(4000, 3000, 100 + n), "JPEG") for n in range(min(E2E_BASES, count))]
    blobs = []
    for n in range(count):
        data = with_comment(bases[n % len(bases)], f"mediaflow bench seed {n}")
        blob = Blob(
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), format="JPEG", width=4000, height=3000
        )
        default_storage.save(blob.storage_name, ContentFile(data))
        blobs.append(blob)
    Blob.objects.bulk_create(blobs, batch_size=500)
    by_sha = dict(Blob.objects.values_list("sha256", "id"))
    files = [
        MediaFile(owner=owner, name=f"IMG_{n:05}.jpg", blob_id=by_sha[blob.sha256], size=blob.size)
        for n, blob in enumerate(blobs)
    ]
    MediaFile.objects.bulk_create(files, batch_size=500)
    ids = list(MediaFile.objects.filter(owner=owner).order_by("id").values_list("id", flat=True))
    return owner.pk, ids


def django_worker_init(ready):
    sys.path.insert(0, str(ROOT))  # the settings' environment is inherited from the parent
    import django

    django.setup()
    ready.wait()  # the clock starts when every worker is up


def run_chunk(args):
    """One chunk, as the engine's chunk task would run it inside a worker process."""
    from jobs.registry import ChunkContext, get_kind

    owner_id, index, ids, force = args
    kind = get_kind("thumbnails")
    cpu = time.process_time()
    outcome = kind.handler(
        ChunkContext("bench", owner_id, kind.name, ids, {"force": force}, index, index * kind.chunk_size)
    )
    return outcome.done, len(outcome.failures), time.process_time() - cpu, peak_rss_mb_of_this_process()


def timed_run(processes, owner_id, ids, force):
    from django.db import connections

    from jobs.registry import get_kind

    size = get_kind("thumbnails").chunk_size
    chunks = [
        (owner_id, n, ids[start : start + size], force) for n, start in enumerate(range(0, len(ids), size))
    ]
    connections.close_all()
    # Fresh interpreters (spawn), like Celery's worker children: their peak RSS is their own. The
    # clock starts once all of them have started and set up Django.
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(processes + 1)
    with context.Pool(processes, initializer=django_worker_init, initargs=(ready,)) as pool:
        ready.wait()
        start = time.perf_counter()
        results = list(pool.imap_unordered(run_chunk, chunks, chunksize=1))  # like prefetch 1
        seconds = time.perf_counter() - start
    return {
        "processes": processes,
        "images": len(ids),
        "done": sum(r[0] for r in results),
        "failed": sum(r[1] for r in results),
        "seconds": seconds,
        "images_per_s": len(ids) / seconds,
        "cpu_ms_per_image": sum(r[2] for r in results) * 1000 / len(ids),
        "cores_used": sum(r[2] for r in results) / seconds,  # CPU seconds per wall second
        "peak_rss_mb": max(r[3] for r in results),
        "load_average_1min_after": os.getloadavg()[0],
    }


def run_e2e(count):
    print(
        f"\nEnd to end: seeding {count} distinct 12 MP JPEGs under {E2E_DIR.relative_to(ROOT)} ...",
        flush=True,
    )
    setup_scratch_django()
    owner_id, ids = seed_blobs(count)
    # One worker just before and just after the two-worker run over all of them, so the single-core
    # rate sees the same background load (the machine is shared); every run does the full work.
    single_ids = ids[: max(1, min(len(ids), 100))]
    before = timed_run(1, owner_id, single_ids, force=True)
    both = timed_run(2, owner_id, ids, force=True)
    after = timed_run(1, owner_id, single_ids, force=True)
    single = {
        **after,
        "images": before["images"] + after["images"],
        "seconds": before["seconds"] + after["seconds"],
        "images_per_s": (before["images"] + after["images"]) / (before["seconds"] + after["seconds"]),
        "cpu_ms_per_image": (before["cpu_ms_per_image"] + after["cpu_ms_per_image"]) / 2,
        "cores_used": (before["cores_used"] + after["cores_used"]) / 2,
        "peak_rss_mb": max(before["peak_rss_mb"], after["peak_rss_mb"]),
    }
    from media_library.models import Blob

    ready = Blob.objects.filter(thumbnail_status=Blob.Thumbnail.READY).count()
    scaling = both["images_per_s"] / (2 * single["images_per_s"])
    print("(the thumbnails kind's chunk handler from worker processes; not yet through jobs.submit)\n")
    header = (
        f"{'workers':<8} {'images':>7} {'seconds':>8} {'images/s':>9} {'CPU ms/img':>11} {'peak RSS':>9}"
        f" {'cores used':>11} {'load avg':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in (single, both):
        print(
            f"{r['processes']:<8} {r['images']:>7} {r['seconds']:>8.1f} {r['images_per_s']:>9.1f} "
            f"{r['cpu_ms_per_image']:>11.1f} {r['peak_rss_mb']:>7.0f}MB "
            f"{r['cores_used']:>11.2f} {r['load_average_1min_after']:>9.1f}"
        )
    projected = 2 * 1000 / both["cpu_ms_per_image"]
    print(f"\n2 workers vs 2x one worker: {scaling:.2f}; blobs ready: {ready} of {count}")
    print(f"on 2 free cores (2 x 1000 / CPU ms per image with 2 workers): {projected:.1f} images/s")
    print(
        "(cores used: our CPU seconds per wall second, 2.0 is perfect for 2 workers; load avg: the\n"
        " machine's 1-minute load after each run: above 2, other processes were sharing the 2 cores)"
    )
    shutil.rmtree(E2E_DIR / "media", ignore_errors=True)  # gigabytes of seeded originals
    return {
        "two_workers": both,
        "one_worker": single,
        "scaling_vs_2x_single": scaling,
        "projected_images_per_s_on_2_free_cores": projected,
        "ready": ready,
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=5, help="images per input type (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over all methods (default 3)")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON to PATH")
    parser.add_argument("--skip-easy-thumbnails", action="store_true", help="no PyPI access: leave (b) out")
    parser.add_argument("--e2e", action="store_true", help="also run the 2-process end-to-end part")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end part")
    parser.add_argument("--e2e-images", type=int, default=1000, help="12 MP JPEGs for --e2e (default 1000)")
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
        report["e2e"] = run_e2e(args.e2e_images)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
