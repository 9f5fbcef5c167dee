"""The dashboard in a real headless Chromium: the page loads Vega from Datasette itself
(no network here) and draws every chart. The screenshot is checked for chart pixels.

Chromium comes from Debian (``.ci/install-chromium.sh``). Without it the test is skipped,
except in CI where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from blueplane_pipeline.datasette.config import DASHBOARD_SLUG
from tests._png import colour_counts
from tests._serve import free_port, serving
from tests._telemetry_db import build_from_fixtures, temp_home

# Vega's default category colours: the first series (bars, lines) and the second one.
VEGA_BLUE = bytes((0x4C, 0x78, 0xA8))
VEGA_ORANGE = bytes((0xF5, 0x85, 0x18))


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(url: str, out: Path, size: str = "1400,1300") -> None:
    exe = chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: run .ci/install-chromium.sh")
        pytest.skip("chromium not installed (.ci/install-chromium.sh)")
    with tempfile.TemporaryDirectory(prefix="bp-chromium-") as profile:
        subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--screenshot={out}", f"--window-size={size}", "--virtual-time-budget=20000",
             url],
            check=True, capture_output=True, timeout=120)


def test_dashboard_draws_charts(tmp_path):
    shot = tmp_path / "dashboard.png"
    with temp_home() as home:
        build_from_fixtures(home)
        with serving(home, free_port()) as base:
            screenshot(f"{base}/-/dashboards/{DASHBOARD_SLUG}", shot)
    keep = os.environ.get("BLUEPLANE_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "dashboard.png")
    counts = colour_counts(shot)
    total = sum(counts.values())
    assert len(counts) > 200, "a blank or flat page"
    # Bars and lines of the charts: thousands of pixels in Vega's first series colour,
    # and the multi-series latency chart draws the second colour too.
    assert counts[VEGA_BLUE] > total * 0.005, counts.most_common(8)
    assert counts[VEGA_ORANGE] > 50, counts.most_common(8)
