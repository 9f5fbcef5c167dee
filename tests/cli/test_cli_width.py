"""Reports stay readable in an 80-column terminal or a pipe: columns are dropped by
priority (and said so), a heading or a number is never cut (issue 9 item 16)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.gen_analytics import generate

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("width")
    generate(home / "telemetry.db", sessions=60, days=10, seed=5)
    return home


@pytest.mark.parametrize("args, must_show", [
    (("sessions", "-n", "8"), ["session id", "cost", "calls"]),
    (("tools", "--period", "all"), ["tool", "calls", "err %", "p95"]),
    (("metrics", "--period", "all", "--group-by", "tool"), ["tool", "calls"]),
])
@pytest.mark.parametrize("columns", [80, 60])
def test_reports_fit_without_cutting_headings_or_numbers(home, args, must_show, columns):
    env = dict(os.environ, BLUEPLANE_HOME=str(home), COLUMNS=str(columns))
    out = subprocess.run([str(BIN / "blueplane"), *args], capture_output=True, text=True,
                         env=env, timeout=60).stdout  # a pipe, not a terminal
    lines = out.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines), out
    rule = next(i for i, line in enumerate(lines) if line.strip().startswith("─"))
    header = lines[rule - 1]  # the headings sit right above the table's rule
    for heading in must_show:
        assert heading in header, (heading, header)
    assert "…" not in out, out  # nothing truncated
    money = re.findall(r"\$\d[\d,]*\.\d\d", out)
    if "cost" in must_show:
        assert money, out
