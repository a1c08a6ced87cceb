"""What the rig runs on a live deployment: the end-to-end check and the measurements.

Each function takes a running `Rig` and returns a dict for the report (numbers and verdicts).
The user's side goes through the web host's API from the client host with the API token; the
product's own records (JobChunk.worker, Blob statuses) are read from its database on the web
host; the bucket is listed from the client; S3 requests are the server's own counters.
"""

import io
import json
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import psutil

from bench.rig.topology import OUT_DIR, S3_PORTS, WORK_DIR, infra_address, web_url

IMAGES_DIR = OUT_DIR / "images"
CACHE_DIR = IMAGES_DIR / "1155x866-q90"
METRICS_URL = f"http://{infra_address()}:{S3_PORTS['metrics']}/metrics"


def _make_photo(path_and_variant):
    from bench.bench_thumbnails import photo_like

    path, variant = path_and_variant
    buffer = io.BytesIO()
    photo_like(1155, 866, variant).save(buffer, "JPEG", quality=90)
    partial = path.with_suffix(".part")
    partial.write_bytes(buffer.getvalue())
    partial.rename(path)  # a run killed mid-write leaves no truncated JPEG in the cache


def prepare_images(count, start=0, log=print):
    """Images start..start+count-1 of one cache of distinct photo-like ~1 MP JPEGs (1155x866, q90,
    random grain: every one its own bytes), made once on all CPUs and reused by every later run;
    returns a folder of hard links to exactly those (the upload takes a whole folder)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    wanted = [CACHE_DIR / f"photo-{n:05d}.jpg" for n in range(start, start + count)]
    missing = [(path, start + i) for i, path in enumerate(wanted) if not path.exists()]
    if missing:
        began = time.monotonic()
        log(f"[rig] making {len(missing)} of {count} images (cached in {CACHE_DIR} for later runs)")
        with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
            pool.map(_make_photo, missing, chunksize=8)
        log(f"[rig] images made in {time.monotonic() - began:.0f} s")
    folder = IMAGES_DIR / "sets" / f"{start}-{count}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for path in wanted:
        os.link(path, folder / path.name)
    return folder


def s3_requests(rig):
    return rig.probe("client", "s3-metrics", METRICS_URL)


def s3_requests_settled(rig, quiet=1.5, timeout=60):
    """The server's counters once they stop moving: bytes of deleted blobs go after the job's commit,
    so a job can read as finished a moment before its last storage requests are sent."""
    last = s3_requests(rig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = s3_requests(rig)
        if now == last:
            return now
        last = now
    return last


def requests_delta(before, after, files):
    """Requests per file by the server's request type, between two snapshots of its counters."""
    delta = {kind: after.get(kind, 0) - before.get(kind, 0) for kind in sorted(set(before) | set(after))}
    delta = {kind: n for kind, n in delta.items() if n}
    per_file = {kind: round(n / files, 2) for kind, n in delta.items()} if files else {}
    return {
        "total": delta,
        "per_file": per_file,
        "per_file_all": round(sum(delta.values()) / files, 2) if files else None,
    }


def wait_jobs(rig, job_ids, timeout=1800, token=None):
    """Follow jobs through the API as their owner (the rig's user unless `token` says another)."""
    return rig.probe(
        "client", "wait-jobs", web_url(), token or rig.token, *job_ids, "--timeout", timeout,
        timeout=timeout + 60,
    )  # fmt: skip


def job_seconds(job):
    from datetime import datetime

    created, finished = (datetime.fromisoformat(job[k]) for k in ("created", "finished"))
    started = datetime.fromisoformat(job["started"]) if job.get("started") else created
    return (finished - created).total_seconds(), (finished - started).total_seconds()


def host_of(worker):
    return worker.rsplit("@", 1)[-1] if worker else None


def chunk_report(rig, job_ids):
    chunks = rig.probe("web", "db-chunks", *job_ids)["chunks"]
    by_host = {}
    for chunk in chunks:
        by_host[host_of(chunk["worker"])] = by_host.get(host_of(chunk["worker"]), 0) + 1
    return chunks, by_host


def local_media_files(rig):
    """Files under each host's MEDIA_ROOT and MEDIAFLOW_VAR_DIR (there must be none on S3)."""
    found = {}
    for name in ("web", *(host.name for host in rig.bulk())):
        out = rig.shell(name, "find /tmp/mediaflow -type f 2>/dev/null | wc -l")
        found[name] = int(out.strip() or 0)
    return found


def expected_keys(shas):
    keys = []
    for sha in shas:
        fan_out = f"{sha[:2]}/{sha[2:4]}/{sha}"
        keys += [f"blobs/{fan_out}", f"thumbs/{fan_out}-256.webp", f"thumbs/{fan_out}-1024.webp"]
    path = WORK_DIR / "expected-keys.json"  # WORK_DIR is visible from every host (only /tmp is private)
    path.write_text(json.dumps(keys))
    return path


def end_to_end(rig, images):
    """Upload on the web host, thumbnails on the bulk hosts, every byte in SeaweedFS."""
    before = s3_requests_settled(rig)
    started = time.monotonic()
    upload = rig.probe("client", "upload", web_url(), rig.token, images, "--batch", "20")
    finished = wait_jobs(rig, upload["thumbnail_jobs"])
    seconds = time.monotonic() - started
    after = s3_requests_settled(rig)
    files = len(upload["files"])
    chunks, by_host = chunk_report(rig, upload["thumbnail_jobs"])
    keys = rig.probe("client", "s3-keys", "--expected", expected_keys([f["sha256"] for f in upload["files"]]))
    bulk_names = {host.name for host in rig.bulk()}
    jobs = list(finished["finished"].values())
    checks = {
        "uploaded every file": files > 0 and not upload["errors"] and upload["shas_match"],
        "thumbnail jobs finished": not finished["unfinished"]
        and all(j["status"] == "succeeded" for j in jobs),
        "every chunk taken by a bulk host": bool(chunks) and set(by_host) <= bulk_names,
        "blobs and renditions in the bucket": keys["missing_count"] == 0,
        "no media on any host's disk": not any(local_media_files(rig).values()),
    }
    return {
        "files": files, "upload_seconds": upload["seconds"],
        "upload_and_thumbnails_seconds": round(seconds, 1),
        "jobs": len(jobs), "chunks_by_host": by_host, "bucket": {k: keys[k] for k in ("blobs", "thumbs")},
        "s3_requests_upload_and_thumbnails": requests_delta(before, after, files),
        "checks": checks, "ok": all(checks.values()),
        "file_ids": [f["id"] for f in upload["files"]],
    }  # fmt: skip


def pool_peak_memory(rig):
    """VmHWM (peak resident memory) of each worker's pool processes, in MB, by host:pid."""
    workers = [(host.name, host.procs.get("bulk")) for host in rig.bulk()]
    workers.append(("web-interactive", rig.hosts["web"].procs.get("interactive")))
    peaks = {}
    for name, proc in workers:
        if proc is None or proc.poll() is not None:
            continue
        for child in psutil.Process(proc.pid).children():
            status = Path(f"/proc/{child.pid}/status").read_text()
            hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            peaks[f"{name}:{child.pid}"] = round(int(hwm.split()[1]) / 1024, 1)
    return peaks


def bulk_pool_peaks(peaks):
    return {key: mb for key, mb in peaks.items() if not key.startswith("web-")}


def forced_thumbnails(rig):
    """Throughput of a thumbnails job with `force` over every file, on this many bulk hosts."""
    before = s3_requests_settled(rig)
    throttled_before = {host.name: rig.cpu.throttled(host.cpu_group) for host in rig.bulk()}
    submitted = rig.probe("web", "db-submit-thumbnails", "rig", "--force")
    finished = wait_jobs(rig, [submitted["job_id"]])
    after = s3_requests_settled(rig)
    job = finished["finished"].get(submitted["job_id"])
    if job is None:
        return {"ok": False, "error": "the job did not finish", "job": submitted}
    wall, running = job_seconds(job)
    _chunks, by_host = chunk_report(rig, [submitted["job_id"]])
    throttled = {}
    for host in rig.bulk():
        now, then = rig.cpu.throttled(host.cpu_group), throttled_before[host.name]
        throttled[host.name] = [now[0] - then[0], now[1] - then[1]] if now and then else None
    return {
        "files": job["total"], "status": job["status"], "done": job["done"], "failed": job["failed"],
        "seconds_submit_to_done": round(wall, 2), "seconds_running": round(running, 2),
        "files_per_second": round(job["total"] / wall, 2) if wall else None,
        "chunks_by_host": by_host, "cpu_periods_throttled": throttled,
        "pool_peak_rss_mb": bulk_pool_peaks(pool_peak_memory(rig)),
        "s3_requests": requests_delta(before, after, job["total"]),
        "ok": job["status"] == "succeeded" and job["failed"] == 0,
    }  # fmt: skip
