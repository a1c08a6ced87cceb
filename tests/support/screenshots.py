"""The README's screenshots, taken by the browser tests where the pages are in a known state.

Only with MEDIAFLOW_SCREENSHOTS=1 (`MEDIAFLOW_SCREENSHOTS=1 scripts/test.sh tests/browser`): an
ordinary test run never rewrites the committed pictures in docs/screenshots/.
"""

import os
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page, name, **options):
    if os.environ.get("MEDIAFLOW_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), **options)
