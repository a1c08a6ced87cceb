"""Failure drills on a live rig, each a scripted run that ends in a verdict.

    two beats      a second beat on a bulk host stands by; killing the active one hands over
    cut link       a bulk host's veth goes down in the middle of a thumbnails job: the others
                   finish it and nothing is counted twice, also after the link comes back
    S3 outage      SeaweedFS stopped for 20 s in the middle of a thumbnails job: the job finishes
                   with no file failed (the outage only delays it)

The drills need the rig started with short job leases (see DRILL_ENV) so that a chunk stuck on a
cut-off host is resent within minutes, not after the production lease.
"""

import os
import signal
import time

from bench.rig import infra
from bench.rig.rig import ROLE
from bench.rig.scenarios import host_of, job_seconds, wait_jobs

# A chunk's hard limit 20 + 60 s, trusted for 100 s; the sweep (every 60 s from beat) resends after.
DRILL_ENV = {"JOB_CHUNK_SOFT_TIME_LIMIT": 20, "JOBS_QUEUED_LEASE_SECONDS": 60}
OUTAGE_SECONDS = 20
CUT_TRIES = 5  # a chunk (20 images) lasts seconds: the one seen running may commit before the cut


def _wait(condition, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(what)


def _progress(rig, job_id):
    chunks = rig.probe("web", "db-chunks", job_id)
    return chunks["jobs"][0], chunks["chunks"]


def two_beats(rig):
    """A second beat on the last bulk host; the web host's beat is killed, then comes back."""
    second_host = rig.bulk()[-1]
    web = rig.hosts["web"]
    holder_before = rig.probe("client", "lease-holder")
    second_host.popen("beat", ["bash", ROLE, "beat"], rig.product_env())
    log = rig.run_dir / "logs" / f"{second_host.name}-beat.log"
    _wait(
        lambda: "stands by" in log.read_text(errors="replace"),
        90,
        "the second beat did not report standing by",
    )
    still_first = rig.probe("client", "lease-holder")
    second_before_kill = log.read_text(errors="replace")
    first = web.procs["beat"]
    os.killpg(first.pid, signal.SIGKILL)  # a crash: no lease given back
    first.wait(10)
    killed = time.monotonic()
    lease = float(rig.product_env().get("BEAT_LEASE_SECONDS", 30))

    def second_holds():
        holder = rig.probe("client", "lease-holder")
        return holder if holder and holder.startswith(f"{second_host.name}:") else None

    holder_after = _wait(second_holds, lease + 60, "no standby took over")
    takeover = time.monotonic() - killed
    web.popen("beat", ["bash", ROLE, "beat"], rig.product_env())  # the web host's beat comes back...
    web_log = rig.run_dir / "logs" / "web-beat.log"
    _wait(
        lambda: "stands by" in web_log.read_text(errors="replace"), 90, "the restarted beat did not stand by"
    )
    restarted_stood_by = rig.probe("client", "lease-holder") == holder_after
    second_host.stop("beat")  # ...and takes over again when the bulk host's beat stops cleanly
    handed_back = _wait(
        lambda: (holder := rig.probe("client", "lease-holder")) and holder.startswith("web:"),
        lease,
        "no hand-back",
    )
    checks = {
        "first beat active": bool(holder_before) and holder_before.startswith("web:"),
        "second beat stood by while the first lived": still_first == holder_before
        and "is the active beat (lease" not in second_before_kill,
        "standby took over after the kill": bool(holder_after),
        "restarted beat stood by": restarted_stood_by,
        "clean stop handed the lease back": bool(handed_back),
    }
    return {"takeover_seconds": round(takeover, 1), "checks": checks, "ok": all(checks.values())}


def _chunk(rig, job_id, index):
    return next(c for c in _progress(rig, job_id)[1] if c["index"] == index)


def _victim_sessions(rig, victim):
    return rig.probe("web", "db-pg-sessions", victim.address)


def _wait_sessions_gone(rig, victim, timeout):
    """Seconds until the server has no session of the cut host left (None: still there)."""
    started = time.monotonic()
    try:
        _wait(lambda: _victim_sessions(rig, victim)["sessions"] == 0, timeout, "sessions stay", interval=1)
    except TimeoutError:
        return None
    return round(time.monotonic() - started, 1)


def cut_link(rig, file_count):
    """Cut the first bulk host off while it runs a chunk of a forced thumbnails job."""
    if len(rig.bulk()) < 2:
        return {"ok": None, "skipped": "needs 2 bulk hosts or more"}
    victim = rig.bulk()[0]
    job_id = rig.probe("web", "db-submit-thumbnails", "rig", "--force")["job_id"]

    def victim_chunk():
        _job_row, chunks = _progress(rig, job_id)
        running = [
            c["index"] for c in chunks if c["status"] == "running" and host_of(c["worker"]) == victim.name
        ]
        return running[0] + 1 if running else None  # +1: chunk 0 is an index too, not a "no"

    for _try in range(CUT_TRIES):
        cut_chunk = _wait(victim_chunk, 120, f"{victim.name} never ran a chunk of the job") - 1
        sessions_at_cut = _victim_sessions(rig, victim)
        victim.cut_link()
        cut_at = time.monotonic()
        if _chunk(rig, job_id, cut_chunk)["status"] == "running":
            break
        victim.restore_link()  # it committed that chunk just before the cut: try its next one
    else:
        return {"ok": False, "error": f"every cut came after {victim.name} committed its chunk"}
    try:
        # The server's keepalives / idle-in-transaction timeout (infra.SERVER_SETTINGS) end them.
        sessions_gone = _wait_sessions_gone(rig, victim, timeout=180)
        finished = wait_jobs(rig, [job_id], timeout=900)
        seconds_after_cut = time.monotonic() - cut_at
    finally:
        victim.restore_link()
    job = finished["finished"].get(job_id)
    # Give the cut-off worker time to reconnect and try to finish its stale chunk, then look again.
    rig.wait_for_workers(1 + len(rig.bulk()), timeout=180)
    time.sleep(30)
    job_row, chunks = _progress(rig, job_id)
    counted = sum(c["done"] + c["failed"] for c in chunks)
    taken_over = next(c for c in chunks if c["index"] == cut_chunk)
    others = {host.name for host in rig.bulk()} - {victim.name}
    checks = {
        "the cut host's PostgreSQL sessions ended while it was cut off": sessions_gone is not None,
        "job finished while the host was cut off": job is not None,
        "every file done, none failed": bool(job)
        and job["done"] == job["total"] == file_count
        and job["failed"] == 0,
        # record() adds a chunk's counts to the job row: a second commit would show here.
        "every chunk committed exactly once (after the host came back too)": all(
            c["status"] == "done" and c["done"] + c["failed"] == c["size"] for c in chunks
        )
        and job_row["done"] + job_row["failed"] == job_row["total"] == counted,
        "the cut host's chunk was finished by another host": taken_over["status"] == "done"
        and host_of(taken_over["worker"]) in others,
    }  # fmt: skip
    return {
        "seconds_cut_to_done": round(seconds_after_cut, 1) if job else None,
        "sessions_at_cut": sessions_at_cut, "sessions_gone_seconds": sessions_gone, "job": job_row,
        "cut_chunk": taken_over,
        "chunks_by_host": _by_host(chunks), "checks": checks, "ok": all(checks.values()),
    }  # fmt: skip


def s3_outage(rig, file_count):
    """Stop SeaweedFS for OUTAGE_SECONDS once a forced thumbnails job is under way."""
    infra_host = rig.hosts["infra"]
    job_id = rig.probe("web", "db-submit-thumbnails", "rig", "--force")["job_id"]
    _wait(
        lambda: _progress(rig, job_id)[0]["done"] >= max(1, file_count // 10), 300, "the job never got going"
    )
    infra.stop_seaweedfs(infra_host)
    stopped = time.monotonic()
    time.sleep(OUTAGE_SECONDS)  # the outage itself: a fixed length by design
    infra.start_seaweedfs(infra_host, rig.creds)
    rig.probe("client", "wait-s3", env=rig.product_env())
    outage = time.monotonic() - stopped
    finished = wait_jobs(rig, [job_id], timeout=900)
    job = finished["finished"].get(job_id) or _progress(rig, job_id)[0]
    blobs = rig.probe("web", "db-blob-status")
    checks = {
        "job finished": job.get("status") in ("succeeded", "partial", "failed"),
        "no file failed (the outage only delayed it)": job.get("status") == "succeeded"
        and job.get("failed") == 0,
        "no blob marked failed": not blobs.get("failed"),
    }
    return {
        "outage_seconds": round(outage, 1),
        "job_status": job.get("status"),
        "done": job.get("done"),
        "failed": job.get("failed"),
        "seconds": round(job_seconds(job)[0], 1) if job.get("finished") else None,
        "blob_statuses": blobs,
        "checks": checks,
        "ok": all(checks.values()),
    }


def _by_host(chunks):
    counts = {}
    for chunk in chunks:
        counts[host_of(chunk["worker"])] = counts.get(host_of(chunk["worker"]), 0) + 1
    return counts
