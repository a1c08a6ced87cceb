"""The SeaweedFS starter shared by the tests, the smoke test and the rig survives a port taken
between weed choosing it and binding it (seen in CI: `weed mini` exited at once with "listen tcp
127.0.0.1:51919: bind: address already in use" and the smoke test failed)."""

from devtools import seaweedfs
from devtools.seaweedfs import start_seaweedfs

LOST_PORT = "echo 'F failed to listen on grpc port 51919: bind: address already in use'; exit 255"


def test_a_weed_that_lost_a_port_is_started_again_on_new_ports(tmp_path, monkeypatch):
    real_command = seaweedfs.weed_mini_command
    commands = []

    def first_one_loses_a_port(*args, **kwargs):
        command = real_command(*args, **kwargs)
        commands.append(command)
        return ["sh", "-c", LOST_PORT] if len(commands) == 1 else command

    monkeypatch.setattr(seaweedfs, "weed_mini_command", first_one_loses_a_port)
    server = start_seaweedfs(tmp_path / "s3")
    try:
        assert len(commands) == 2 and commands[0] != commands[1]  # fresh ports the second time
        assert server.answers()
    finally:
        server.stop()


def test_a_weed_that_fails_for_another_reason_is_not_started_again(tmp_path, monkeypatch):
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        return ["sh", "-c", "echo 'F unknown flag -nope'; exit 2"]

    monkeypatch.setattr(seaweedfs, "weed_mini_command", broken)
    try:
        start_seaweedfs(tmp_path / "s3")
    except RuntimeError as exc:
        assert "unknown flag" in str(exc)
    else:
        raise AssertionError("a weed that cannot start must raise")
    assert len(calls) == 1
