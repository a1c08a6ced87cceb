"""Pool-process peak memory of the bulk workers: does it stay flat as a job grows?

Before each measured job every bulk worker is restarted, so its pool processes start fresh and
their peak (the kernel's VmHWM) covers that job only; a sampler also reads each pool process's
RSS and USS (memory_full_info: private pages, what the process itself costs) every 0.25 s, which
catches a pool process that is replaced mid-job too. The verdict compares the largest peak of
the small and the large job: flat means within ±TOLERANCE_MB.

    thumbnails  N small distinct images (seed_demo: 64x48 JPEG/PNG, stored in S3 through the
                ingest path), a forced thumbnails job over the first N; affordable at 20,000
    copy        N rows seeded set-based in a folder (probe db-seed-rows), the folder copied, then
                the copies trashed: the library bench on PostgreSQL, end to end
"""

import json
import threading
import time
from pathlib import Path

import psutil

from bench.rig.scenarios import job_seconds, requests_delta, s3_requests_settled, wait_jobs
from bench.rig.topology import web_url

TOLERANCE_MB = 5.0
MB = 1024 * 1024


def _pool_processes(rig):
    for host in rig.bulk():
        proc = host.procs.get("bulk")
        if proc is None or proc.poll() is not None:
            continue
        try:
            yield from ((host.name, child) for child in psutil.Process(proc.pid).children())
        except psutil.NoSuchProcess:
            continue


def _vm_hwm_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


class PoolSampler:
    """Peaks per pool process (host:pid) while a job runs: sampled RSS/USS, then VmHWM at the end."""

    def __init__(self, rig, interval=0.25):
        self.rig, self.interval = rig, interval
        self.peaks = {}  # "host:pid" -> {"rss": MB, "uss": MB, "hwm": MB}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self._sample(final=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, final=False):
        for host_name, child in _pool_processes(self.rig):
            try:
                info = child.memory_full_info()
                hwm = _vm_hwm_mb(child.pid) if final else 0.0
            except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
                continue
            peak = self.peaks.setdefault(f"{host_name}:{child.pid}", {"rss": 0.0, "uss": 0.0, "hwm": 0.0})
            peak["rss"] = max(peak["rss"], round(info.rss / MB, 1))
            peak["uss"] = max(peak["uss"], round(info.uss / MB, 1))
            peak["hwm"] = max(peak["hwm"], round(hwm, 1))

    def summary(self):
        values = self.peaks.values()
        return {
            "pool_processes": len(self.peaks),
            "peak_rss_mb": max((max(p["hwm"], p["rss"]) for p in values), default=None),
            "peak_uss_mb": max((p["uss"] for p in values), default=None),
            "by_process": self.peaks,
        }


def fresh_bulk_workers(rig):
    """Restart every bulk worker: new pool processes, peaks from zero."""
    for host in rig.bulk():
        host.stop("bulk")
    for host in rig.bulk():
        rig.start_bulk_worker(host)
    time.sleep(2)  # /healthz may still count a stopped worker for a moment
    rig.wait_for_workers(1 + len(rig.bulk()))
    _wait_for_pools(rig)


def _wait_for_pools(rig, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hosts = {name for name, _child in _pool_processes(rig)}
        if hosts >= {host.name for host in rig.bulk()}:
            return
        time.sleep(0.2)


def _measured_job(rig, submit, files, token):
    """Run a job with fresh bulk workers under the sampler; its numbers and its memory."""
    fresh_bulk_workers(rig)
    before = s3_requests_settled(rig)
    with PoolSampler(rig) as sampler:
        job_id = submit()
        finished = wait_jobs(rig, [job_id], timeout=7200, token=token)
    job = finished["finished"].get(job_id) or {"status": "unfinished", "total": 0}
    return {
        "files": files, "status": job["status"], "done": job.get("done"), "failed": job.get("failed"),
        "seconds_submit_to_done": round(job_seconds(job)[0], 2) if job.get("finished") else None,
        "s3_requests": requests_delta(before, s3_requests_settled(rig), files),
        **sampler.summary(),
    }  # fmt: skip


def thumbnails_memory(rig, sizes, log=print):
    """Forced thumbnails over the first N of max(sizes) small distinct images, for each N."""
    web = rig.hosts["web"]
    started = time.monotonic()
    seed = [rig_python(), "manage.py", "seed_demo", "--user", "mem", "--files", max(sizes)]
    web.run(seed, rig.product_env(), timeout=7200)
    token = _token(rig, "mem")
    out = {
        "images": "64x48 JPEG/PNG (seed_demo), distinct bytes",
        "seed_seconds": round(time.monotonic() - started, 1),
    }
    log(f"[rig] memory: {max(sizes)} small images seeded in {out['seed_seconds']} s")
    for n in sizes:

        def submit(n=n):
            return rig.probe("web", "db-submit-thumbnails", "mem", "--force", "--limit", n)["job_id"]

        out[str(n)] = run = _measured_job(rig, submit, n, token)
        log(f"[rig] memory: thumbnails of {n}: {run['status']} in {run['seconds_submit_to_done']} s, "
            f"pool peak RSS {run['peak_rss_mb']} MB")  # fmt: skip
    out["verdict"] = verdict(out, sizes)
    return out


def copy_memory(rig, sizes, log=print):
    """For each N: seed N rows (set-based SQL), copy the folder, then trash the copies."""
    rig.probe("web", "db-create-user", "lib")
    token = _token(rig, "lib")
    out = {}
    for n in sizes:
        seeded = rig.probe("web", "db-seed-rows", "lib", f"source {n}", n, timeout=3600)
        target = rig.probe("client", "make-folder", web_url(), token, f"copies {n}")["id"]
        payload = {"action": "copy", "folder_id": seeded["folder_id"], "target_folder_id": target}
        run = _measured_job(rig, lambda payload=payload: _submit(rig, token, payload), n, token)
        run["seed_seconds"] = seeded["seconds"]
        run["trash"] = _timed_job(rig, token, {"action": "trash", "folder_id": target}, n)
        out[str(n)] = run
        trash_seconds = run["trash"]["seconds_submit_to_done"]
        log(f"[rig] memory: copy of {n}: {run['status']} in {run['seconds_submit_to_done']} s "
            f"(trash {trash_seconds} s), pool peak RSS {run['peak_rss_mb']} MB")  # fmt: skip
    out["verdict"] = verdict(out, sizes)
    return out


def _token(rig, user):
    command = [rig_python(), "manage.py", "create_api_token", user]
    return rig.hosts["web"].run(command, rig.product_env()).stdout.strip()


def _submit(rig, token, payload):
    return rig.probe("client", "submit-job", web_url(), token, json.dumps(payload))["job_id"]


def _timed_job(rig, token, payload, files):
    before = s3_requests_settled(rig)
    job_id = _submit(rig, token, payload)
    done = rig.probe("client", "wait-jobs", web_url(), token, job_id, "--timeout", 7200, timeout=7300)
    job = done["finished"].get(job_id, {"status": "unfinished"})
    return {
        "status": job["status"], "total": job.get("total"),
        "seconds_submit_to_done": round(job_seconds(job)[0], 2) if job.get("finished") else None,
        "s3_requests": requests_delta(before, s3_requests_settled(rig), files),
    }  # fmt: skip


def verdict(runs, sizes):
    small, large = (runs[str(n)] for n in (min(sizes), max(sizes)))
    if small["peak_rss_mb"] is None or large["peak_rss_mb"] is None:
        return {"ok": False, "error": "no pool process was sampled"}
    delta = round(large["peak_rss_mb"] - small["peak_rss_mb"], 1)
    delta_uss = round((large["peak_uss_mb"] or 0) - (small["peak_uss_mb"] or 0), 1)
    ok = abs(delta) <= TOLERANCE_MB and small["status"] == large["status"] == "succeeded"
    return {"delta_rss_mb": delta, "delta_uss_mb": delta_uss, "tolerance_mb": TOLERANCE_MB, "ok": ok}


def rig_python():
    from bench.rig.rig import PYTHON

    return PYTHON
