"""A table page in a real headless Chromium opens on its rows: the column descriptions are
folded away and sit on the column headings instead (issue 9 item 17)."""

from __future__ import annotations

import re
import subprocess
import tempfile

from tests._serve import free_port, serving
from tests._telemetry_db import build_from_fixtures, temp_home
from tests.datasette.test_dashboard_screenshot import chromium


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran, as Chromium serialises it."""
    import os

    import pytest

    exe = chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: run .ci/install-chromium.sh")
        pytest.skip("chromium not installed (.ci/install-chromium.sh)")
    with tempfile.TemporaryDirectory(prefix="bp-chromium-") as profile:
        proc = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
             "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120)
    return proc.stdout


def test_table_pages_open_on_their_rows():
    with temp_home() as home:
        build_from_fixtures(home)
        with serving(home, free_port()) as base:
            dom = rendered_dom(f"{base}/telemetry/sessions")
    details = re.search(r"<details class=\"blueplane-column-descriptions\">(.*?)</details>",
                        dom, re.S)
    assert details, "the column descriptions were not folded away"
    assert "open" not in dom[details.start():details.start() + 60]
    assert '<dl class="column-descriptions">' in details.group(1)  # inside, not above
    heading = re.search(r'<th[^>]*data-column="cost_usd"[^>]*>', dom)
    assert heading and 'title="' in heading.group(0), "no description on the heading"
    # the first data row comes before any long list now
    assert dom.index("<details") < dom.index('<table class="rows-and-columns')
