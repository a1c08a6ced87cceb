"""Which Redis a process uses when REDIS_URL is unset: the one `make run` wrote to var/redis.url."""

import stat

from project.redis_location import DEFAULT_REDIS_URL, resolve_redis_url, write_redis_url


def test_the_environment_wins_then_the_url_make_run_wrote_then_the_default(tmp_path):
    assert resolve_redis_url({}, tmp_path) == DEFAULT_REDIS_URL  # no make run here
    path = write_redis_url(tmp_path, "redis://127.0.0.1:41234/0")
    assert path == tmp_path / "redis.url" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_redis_url({}, tmp_path) == "redis://127.0.0.1:41234/0"
    assert resolve_redis_url({"REDIS_URL": ""}, tmp_path) == "redis://127.0.0.1:41234/0"
    assert resolve_redis_url({"REDIS_URL": "redis://shared:6379/1"}, tmp_path) == "redis://shared:6379/1"
    write_redis_url(tmp_path, "redis://127.0.0.1:41235/0")  # the next make run, on another port
    assert resolve_redis_url({}, tmp_path) == "redis://127.0.0.1:41235/0"
    assert [p.name for p in tmp_path.iterdir()] == ["redis.url"]  # no temporary file left
