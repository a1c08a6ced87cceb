"""scripts/respawn.py, which keeps the Procfile's workers and beat running under honcho: a child
that dies is started again; a stop signal stops both for good."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]
# Counts its starts in a file; the first start dies on its own, the next ones run until stopped.
CHILD = """
import pathlib, sys, time
starts = pathlib.Path(sys.argv[1])
count = int(starts.read_text()) + 1 if starts.exists() else 1
starts.write_text(str(count))
if count == 1:
    sys.exit(3)
time.sleep(120)
"""


def test_a_child_that_dies_is_started_again_and_a_stop_signal_stops_both(tmp_path):
    starts = tmp_path / "starts"
    wrapper = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "respawn.py"), sys.executable, "-c", CHILD, str(starts)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: starts.exists() and starts.read_text() == "2", 20, "the second start", wrapper)
        time.sleep(0.3)
        assert wrapper.poll() is None
        wrapper.send_signal(signal.SIGTERM)  # as honcho stops it (it also signals the child)
        assert wrapper.wait(15) == 128 + signal.SIGTERM  # the child's end, passed on
        assert starts.read_text() == "2"  # stopped, not started a third time
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
    assert "exited with 3; starting it again" in wrapper.stderr.read()
