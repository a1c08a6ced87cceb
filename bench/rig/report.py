"""The rig's table (printed) and its JSON (bench/out/rig/, git-ignored)."""

import json
from pathlib import Path

DRILL_NUMBERS = (
    "takeover_seconds", "seconds_cut_to_done", "sessions_gone_seconds", "outage_seconds", "failed",
    "blob_statuses",
)  # fmt: skip


def _checks(checks):
    failed = [name for name, ok in checks.items() if not ok]
    return "all pass" if not failed else "FAIL: " + "; ".join(failed)


def _per_file(requests):
    per_file = requests.get("per_file") or {}
    return ", ".join(f"{kind} {n:g}" for kind, n in per_file.items()) or "0"


def table(results):
    lines = [
        f"Mediaflow multi-host rig — {results['started']}",
        f"bulk hosts capped at {results['cpu_per_bulk_host']} CPU each, {results['bulk_concurrency']} pool "
        f"process(es) each; {results['cpu_note']}",
        f"{results['images']} distinct ~1 MP JPEGs uploaded through the web host's API",
        "",
        "End to end: upload on web -> thumbnails job on the bulk hosts -> bytes in SeaweedFS",
        "| H | files | upload s | upload+thumbnails s | chunks by host | checks |",
        "|---|---|---|---|---|---|",
    ]
    for hosts, run in results["runs"].items():
        e2e = run.get("end_to_end")
        if e2e:
            cells = [hosts, e2e["files"], e2e["upload_seconds"], e2e["upload_and_thumbnails_seconds"]]
            cells += [e2e["chunks_by_host"], _checks(e2e["checks"])]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += [
        "",
        "Thumbnails with force (every file re-rendered), submit -> done; CPU periods throttled near 100 %",
        "means the cap is what limits each host, far below it that the machine itself is short of CPU",
        "| H | files/s | vs H=1 | goal | throttled | pool peak RSS (MB) | S3 requests per file | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = None
    for hosts, run in results["runs"].items():
        forced = run.get("forced_thumbnails")
        if not forced or "files_per_second" not in forced:
            continue
        rate = forced["files_per_second"]
        base = base or rate
        periods = filter(None, forced["cpu_periods_throttled"].values())
        throttled = ", ".join(f"{t / p:.0%}" if p else "-" for p, t in periods)
        cells = [hosts, rate, f"{rate / base:.2f}" if base else "-", f">= {0.9 * int(hosts):.1f}", throttled]
        cells += [sorted(forced["pool_peak_rss_mb"].values()), _per_file(forced["s3_requests"])]
        cells.append(f"{forced['status']} {forced['done']}/{forced['files']}")
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += _operations(results.get("requests_per_operation"))
    lines += _memory(results)
    if results.get("drills"):
        lines += ["", "Drills", "| drill | verdict | detail |", "|---|---|---|"]
        for name, drill in results["drills"].items():
            verdict = "skipped" if drill.get("ok") is None else ("PASS" if drill["ok"] else "FAIL")
            detail = drill.get("skipped") or drill.get("error") or _checks(drill.get("checks", {}))
            extra = {key: drill[key] for key in DRILL_NUMBERS if key in drill}
            lines.append(f"| {name} | {verdict} | {detail} {extra or ''} |")
    return "\n".join(lines)


def _operations(operations):
    if not operations:
        return []
    if "error" in operations:
        return ["", f"S3 requests per operation: ERROR {operations['error']}"]
    lines = ["", "S3 requests per file, by SeaweedFS request type (server counters), each step alone",
             "| operation | files | s | status | requests per file | all per file |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, op in operations.items():
        requests = op["s3_requests"]
        cells = [name, op["files"], op["seconds"], op.get("status", ""), _per_file(requests)]
        cells.append(requests.get("per_file_all") or 0)
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def _memory(results):
    runs = {"thumbnails": results.get("memory_thumbnails"), "copy": results.get("memory_copies")}
    if not any(runs.values()):
        return []
    lines = [
        "",
        "Pool-process peak memory of the bulk workers (restarted before each job; peak RSS = VmHWM,",
        "USS sampled every 0.25 s; max over pool processes); copies then trashed, all on PostgreSQL",
        "| job | files | input | status | submit -> done s | peak RSS MB | peak USS MB | S3 req/file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for job, out in runs.items():
        if not out:
            continue
        if "error" in out and "verdict" not in out:
            lines.append(f"| {job} | - | - | ERROR {out['error']} | | | | |")
            continue
        source = out.get("images", "rows seeded by one INSERT … SELECT, sharing 8 blobs")
        sizes = sorted(int(key) for key in out if key.isdigit())
        for n in sizes:
            run = out[str(n)]
            cells = [job, n, source, run["status"], run["seconds_submit_to_done"], run["peak_rss_mb"]]
            cells += [run["peak_uss_mb"], run["s3_requests"].get("per_file_all") or 0]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
            trash = run.get("trash")
            if trash:
                cells = [f"trash of the {n} copies", trash["total"], "", trash["status"]]
                cells += [
                    trash["seconds_submit_to_done"],
                    "",
                    "",
                    trash["s3_requests"].get("per_file_all") or 0,
                ]
                lines.append("| " + " | ".join(map(str, cells)) + " |")
        verdict = out["verdict"]
        if "delta_rss_mb" in verdict and len(sizes) > 1:
            result = "PASS" if verdict["ok"] else "FAIL"
            verdicts.append(
                f"| {job} {sizes[0]} -> {sizes[-1]} | {verdict['delta_rss_mb']:+.1f} | "
                f"{verdict['delta_uss_mb']:+.1f} | {result} (within ±{verdict['tolerance_mb']:g} MB) |"
            )
    if verdicts:
        lines += [
            "",
            "| memory flat? | Δ peak RSS MB | Δ peak USS MB | verdict |",
            "|---|---|---|---|",
            *verdicts,
        ]
    return lines


def write_json(results, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))
    return path
