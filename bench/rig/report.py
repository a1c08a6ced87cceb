"""The rig's table (printed) and its JSON (bench/out/rig/, git-ignored)."""

import json
from pathlib import Path

DRILL_NUMBERS = ("takeover_seconds", "seconds_cut_to_done", "outage_seconds", "failed", "blob_statuses")


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
    operations = results.get("requests_per_operation")
    if operations:
        lines += ["", "S3 requests per file, by SeaweedFS request type (server counters)",
                  "| operation | files | s | requests per file |", "|---|---|---|---|"]  # fmt: skip
        for name, op in operations.items():
            lines.append(f"| {name} | {op['files']} | {op['seconds']} | {_per_file(op['s3_requests'])} |")
    library = results.get("library")
    if library:
        lines += [
            "",
            f"Library on PostgreSQL: {library['files']} files seeded in {library['seed_seconds']} s",
            "| operation | files | status | submit -> done s | S3 requests | pool peak RSS (MB) |",
            "|---|---|---|---|---|---|",
        ]
        for name in ("copy", "trash"):
            op = library[name]
            total = op["s3_requests"]["total"] or 0
            peak = max(op.get("pool_peak_rss_mb", {}).values(), default="-")
            cells = [name, op["total"], op["status"], op["seconds_submit_to_done"], total, peak]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
    if results.get("drills"):
        lines += ["", "Drills", "| drill | verdict | detail |", "|---|---|---|"]
        for name, drill in results["drills"].items():
            verdict = "skipped" if drill.get("ok") is None else ("PASS" if drill["ok"] else "FAIL")
            detail = drill.get("skipped") or drill.get("error") or _checks(drill.get("checks", {}))
            extra = {key: drill[key] for key in DRILL_NUMBERS if key in drill}
            lines.append(f"| {name} | {verdict} | {detail} {extra or ''} |")
    return "\n".join(lines)


def write_json(results, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))
    return path
