"""S3 requests per file of every operation, from SeaweedFS's own counters (destructive, own user).

One user ("ops") goes through a file's whole life on N fresh images, each step measured alone:
upload (the bulk workers stopped meanwhile, so the upload's requests are the ingest's only), the
thumbnails the upload asked for, copy, move (of the copies), rename, download (as a browser: a
redirect is followed without the token), trash, restore, permanent delete, and the orphan sweep
(N orphan blobs put first; its requests are per stored object it walked, not per file).
"""

import json
import time

from bench.rig.memory import fresh_bulk_workers, rig_python
from bench.rig.scenarios import requests_delta, s3_requests_settled, wait_jobs
from bench.rig.topology import WORK_DIR, web_url

USER = "ops"


def _step(results, rig, name, files, action):
    before = s3_requests_settled(rig)
    started = time.monotonic()
    detail = action() or {}
    results[name] = {
        "files": files, "seconds": round(time.monotonic() - started, 2),
        "s3_requests": requests_delta(before, s3_requests_settled(rig), files), **detail,
    }  # fmt: skip


def requests_per_operation(rig, images):
    web = rig.hosts["web"]
    rig.probe("web", "db-create-user", USER)
    token = web.run([rig_python(), "manage.py", "create_api_token", USER], rig.product_env()).stdout.strip()
    results, state = {}, {}

    def job(payload):
        job_id = rig.probe("client", "submit-job", web_url(), token, json.dumps(payload))["job_id"]
        done = rig.probe("client", "wait-jobs", web_url(), token, job_id, "--timeout", 1800, timeout=1900)
        job = done["finished"].get(job_id) or {"status": "unfinished"}
        return {"status": job["status"], "done": job.get("done")}

    def upload():
        for host in rig.bulk():  # the thumbnails wait in the queue until the workers come back
            host.stop("bulk")
        state["upload"] = rig.probe("client", "upload", web_url(), token, images, "--batch", "20")
        return {"status": "ok" if not state["upload"]["errors"] else "errors"}

    def thumbnails():
        fresh_bulk_workers(rig)
        finished = wait_jobs(rig, state["upload"]["thumbnail_jobs"], token=token)
        return {"status": ",".join(sorted({j["status"] for j in finished["finished"].values()}))}

    def download():
        ids = WORK_DIR / "ops-ids.json"
        ids.write_text(json.dumps(originals))
        got = rig.probe("client", "download", web_url(), token, ids)
        return {"status": "ok", "bytes": got["bytes"], "redirects": got["redirects"]}

    def sweep():
        report = rig.probe("web", "db-sweep-orphans", "--age-hours", 2)
        return {"status": f"removed {report['removed']}"}

    _step(results, rig, "upload (ingest)", len(list(images.glob("*.jpg"))), upload)
    originals = [f["id"] for f in state["upload"]["files"]]
    files = len(originals)
    _step(results, rig, "thumbnails (of the upload)", files, thumbnails)
    copies = rig.probe("client", "make-folder", web_url(), token, "ops copies")["id"]
    moved = rig.probe("client", "make-folder", web_url(), token, "ops moved")["id"]
    _step(
        results,
        rig,
        "copy",
        files,
        lambda: job({"action": "copy", "file_ids": originals, "target_folder_id": copies}),
    )
    _step(
        results,
        rig,
        "move",
        files,
        lambda: job({"action": "move", "folder_id": copies, "target_folder_id": moved}),
    )
    _step(
        results,
        rig,
        "rename",
        files,
        lambda: job({"action": "rename", "file_ids": originals, "pattern": "ops-{n:04}{ext}"}),
    )
    _step(results, rig, "download", files, download)
    _step(results, rig, "trash", files, lambda: job({"action": "trash", "file_ids": originals}))
    _step(results, rig, "restore", files, lambda: job({"action": "restore", "file_ids": originals}))
    everything = rig.probe("web", "db-file-ids", USER)
    job({"action": "trash", "file_ids": everything})  # not measured: the same as trash above
    # Originals and copies share blobs: deleting both frees each blob (its bytes, renditions) once.
    _step(
        results,
        rig,
        "delete permanently",
        len(everything),
        lambda: job({"action": "delete", "file_ids": everything}),
    )
    rig.probe("client", "s3-put-orphans", files)
    stored = rig.probe("client", "s3-keys")
    scanned = stored["blobs"] + stored["thumbs"]
    _step(results, rig, "orphan sweep (per stored object)", scanned, sweep)
    return results
