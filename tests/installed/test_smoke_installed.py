"""The installed product (scripts/smoke_installed.py: a fresh clone, `make run`, HTTP only) as a
pytest test. It clones and installs the product, so it runs only when named:

    .venv/bin/python -m pytest tests/installed

The script stays the entry point .ci/run calls after the suite; this test runs it unchanged, with
the environment pytest was started with (not the test session's private Redis and database).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import ROOT
from tests.support.services import original_environ

HERE = Path(__file__).resolve().parent


def named_on_command_line(config):
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return any(path == HERE or HERE in path.parents for path in paths)


@pytest.mark.timeout(1800)
def test_installed_product(request):
    if not named_on_command_line(request.config):
        pytest.skip("clones and installs the product: run it with `pytest tests/installed`")
    finished = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "smoke_installed.py")], cwd=ROOT, env=original_environ
    )
    assert finished.returncode == 0, "scripts/smoke_installed.py failed (its log is above)"
