"""Progress latency and tiny-job throughput of the jobs engine, end to end on real services.

Starts its own redis-server, Celery worker (prefork, 2 processes) and daphne on a fresh SQLite
database, opens a real websocket as a logged-in user, then:

- jobs: submits N one-id jobs; each job's final card is published by the worker, and the card
  carries the publish time (data-published), so latency = websocket receipt - worker publish;
  jobs/s = N / (last final card received - first submit).
- baseline: the same cards sent straight from this process through the channel layer (the floor
  that daphne + channels-redis impose, with no Celery in between).

    .venv/bin/python bench/bench_progress.py [--jobs 300] [--json out.json]

Target: p95 < 100 ms.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_kinds import NOOP  # noqa: E402


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Receiver(threading.Thread):
    """Reads the websocket and timestamps every card on arrival."""

    def __init__(self, socket):
        super().__init__(daemon=True)
        self.socket, self.cards, self.stop = socket, [], threading.Event()

    def run(self):
        from devtools.job_cards import cards

        while not self.stop.is_set():
            try:
                message = self.socket.recv(timeout=0.2)
            except TimeoutError:
                continue
            except Exception:
                return
            now = time.time()
            for job_id, attrs in cards(message):
                self.cards.append((now, job_id, attrs))


def start_services(workdir):
    from devtools.processes import start_redis_server, stop_process

    redis_url, redis_proc = start_redis_server(workdir / "redis")
    try:
        configure_django(workdir, redis_url)
    except BaseException:
        stop_process(redis_proc)
        raise
    return redis_proc


def configure_django(workdir, redis_url):
    os.environ.update(
        REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url, DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        SECRET_KEY="bench-secret-key-0123456789-not-for-production", DEBUG="0",
        ALLOWED_HOSTS="localhost,127.0.0.1", MEDIA_ROOT=str(workdir / "media"),
        MEDIAFLOW_VAR_DIR=str(workdir),
        WHITENOISE_USE_FINDERS="1", JOBS_EXTRA_KIND_MODULES="bench.bench_kinds", LOG_LEVEL="WARNING",
    )  # fmt: skip
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(args):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from devtools.processes import start_celery_worker, start_daphne, stop_process
    from devtools.websocket import open_socket
    from jobs.models import Job
    from jobs.progress import job_event, user_group
    from jobs.services import submit

    db_url = os.environ["DATABASE_URL"]
    logs = Path(os.environ["MEDIAFLOW_VAR_DIR"])
    worker = start_celery_worker(db_url, logs / "worker.log")
    url, daphne = start_daphne(db_url, logs / "daphne.log")
    try:
        user = get_user_model().objects.create_user("bench", password="bench-password-1")
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        with open_socket(url, cookie) as socket:
            receiver = Receiver(socket)
            receiver.start()
            # Warm up: the worker's first task imports and connects.
            warm = submit(NOOP, user, [0])
            deadline = time.monotonic() + 30
            while not any(c[1] == str(warm.pk) and c[2]["status"] == "succeeded" for c in receiver.cards):
                if time.monotonic() > deadline:
                    raise TimeoutError("warm-up job did not finish")
                time.sleep(0.01)

            # Baseline: channel layer -> daphne -> websocket, no worker involved.
            receiver.cards.clear()
            layer = get_channel_layer()
            for _ in range(args.jobs):
                async_to_sync(layer.group_send)(user_group(user.pk), dict(job_event(warm), seq=10**9))
                time.sleep(0.005)
            wait_for(lambda: len(receiver.cards) >= args.jobs, 30)
            baseline = [(t - float(a["published"])) * 1000 for t, _, a in receiver.cards]

            receiver.cards.clear()
            started = time.time()
            ids = [str(submit(NOOP, user, [n]).pk) for n in range(args.jobs)]
            submitted = time.time()
            wanted = set(ids)

            def finals():
                return {c[1]: c for c in receiver.cards if c[1] in wanted and c[2]["status"] == "succeeded"}

            wait_for(lambda: len(finals()) == len(wanted), 120)
            final = finals()
            last = max(t for t, _, _ in final.values())
            latencies = [(t - float(a["published"])) * 1000 for t, _, a in final.values()]
            receiver.stop.set()
        assert Job.objects.filter(pk__in=ids, status="succeeded").count() == len(ids)
        return {
            "baseline_p50_ms": statistics.median(baseline), "baseline_p95_ms": percentile(baseline, 95),
            "p50_ms": statistics.median(latencies), "p95_ms": percentile(latencies, 95),
            "messages": len(latencies), "jobs_per_s": len(ids) / (last - started),
            "submit_per_s": len(ids) / (submitted - started),
        }  # fmt: skip
    except BaseException:
        from devtools.processes import tail

        print(
            f"worker log:\n{tail(logs / 'worker.log')}\ndaphne log:\n{tail(logs / 'daphne.log')}",
            file=sys.stderr,
        )
        raise
    finally:
        stop_process(worker)
        stop_process(daphne)


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(0.01)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=300, help="tiny jobs (and baseline messages); >= 200")
    parser.add_argument("--json", metavar="PATH", help="write {p50_ms, p95_ms, jobs_per_s} here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mediaflow-bench-"))
    redis_proc = start_services(workdir)
    try:
        result = measure(args)
    finally:
        from devtools.processes import stop_process

        stop_process(redis_proc)
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [
        ("baseline: channel layer -> websocket", result["baseline_p50_ms"], result["baseline_p95_ms"], ""),
        ("worker publish -> websocket (final cards)", result["p50_ms"], result["p95_ms"], ""),
    ]
    print(f"\n{'path':<44}{'p50 ms':>10}{'p95 ms':>10}")
    for name, p50, p95, _ in rows:
        print(f"{name:<44}{p50:>10.1f}{p95:>10.1f}")
    print(f"\nmessages measured: {result['messages']}   (target p95 < 100 ms: "
          f"{'met' if result['p95_ms'] < 100 else 'MISSED'})")  # fmt: skip
    print(
        f"tiny jobs: {result['jobs_per_s']:.1f} jobs/s end to end "
        f"(submitted at {result['submit_per_s']:.0f}/s)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({k: round(result[k], 2) for k in ("p50_ms", "p95_ms", "jobs_per_s")}, indent=2)
        )


if __name__ == "__main__":
    main()
