"""Two real `celery beat` processes (scripts/role.sh beat) on one private Redis: one dispatches,
the other stands by, and takes over when the first is killed."""

import base64
import json
import os
import signal

import pytest
import redis

from devtools.processes import start_redis_server, stop_process, tail, wait_until
from project.beat import LEASE_KEY
from tests.support.roles import start_role

pytestmark = pytest.mark.django_db(transaction=True)
PROBE_TASK = "project.tasks.echo"


def probe_senders(client):
    """The pid of the process that sent each queued probe message (from Celery's `origin` header,
    "gen<pid>@<host>"), oldest first. Nothing consumes this private broker, so they stay queued,
    all in the list of their priority (LPUSHed: the newest first)."""
    lists = {}
    for key in client.keys("interactive*"):
        if client.type(key) != b"list":
            continue
        for raw in reversed(client.lrange(key, 0, -1)):
            message = json.loads(raw)
            if message["headers"].get("task") == PROBE_TASK:
                assert json.loads(base64.b64decode(message["body"]))[0] == ["beat-probe"]
                origin = message["headers"]["origin"]
                lists.setdefault(key, []).append(int(origin.split("@")[0].removeprefix("gen")))
    assert len(lists) <= 1, f"probe messages in several lists: {list(lists)}"
    return next(iter(lists.values()), [])


def test_only_one_beat_dispatches_and_a_standby_takes_over_when_it_dies(test_database_url, tmp_path):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="beat-probe", task=PROBE_TASK, interval=every_second, args='["beat-probe"]'
    )
    redis_url, redis_proc = start_redis_server(tmp_path / "redis")
    client = redis.Redis.from_url(redis_url)
    env = {"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "BEAT_LEASE_SECONDS": "3"}
    logs = {name: tmp_path / f"beat-{name}.log" for name in ("a", "b")}
    beats = []
    try:
        first = start_role("beat", test_database_url, logs["a"], **env)
        beats.append(first)
        wait_until(
            lambda: f":{first.pid}:" in (client.get(LEASE_KEY) or b"").decode(),
            60,
            "first beat",
            first,
            logs["a"],
        )
        wait_until(lambda: len(probe_senders(client)) >= 2, 60, "first dispatches", first, logs["a"])

        second = start_role("beat", test_database_url, logs["b"], **env)
        beats.append(second)
        wait_until(lambda: "stands by" in tail(logs["b"]), 60, "second beat standing by", second, logs["b"])
        while_both = len(probe_senders(client))
        wait_until(
            lambda: len(probe_senders(client)) >= while_both + 4, 60, "dispatches while both run", first
        )
        assert set(probe_senders(client)) == {first.pid}, "the standby dispatched while the active beat lived"

        os.killpg(first.pid, signal.SIGKILL)  # no clean shutdown: the lease must run out by itself
        first.wait(10)
        at_kill = len(probe_senders(client))
        wait_until(lambda: second.pid in probe_senders(client), 60, "standby takes over", second, logs["b"])
        after = probe_senders(client)[at_kill:]
        assert set(after) == {second.pid}
        assert f":{second.pid}:" in client.get(LEASE_KEY).decode()

        stop_process(second)  # a clean stop gives the lease back at once
        assert client.get(LEASE_KEY) is None, tail(logs["b"])
    finally:
        for proc in beats:
            stop_process(proc)
        stop_process(redis_proc)
