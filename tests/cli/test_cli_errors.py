"""Bad input and a broken environment give one clear line, never a traceback (issue 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from mcp_server.server import build_server

BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "blueplane"), *args], capture_output=True, text=True,
                          timeout=120)


def _one_error_line(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and "Warning" not in ln]
    assert len(lines) == 1 and lines[0].startswith("Error:"), res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def home_with_db(bp_home):
    assert run("ingest").returncode == 0
    return bp_home


@pytest.mark.parametrize("args, needle", [
    (("metrics", "-p", "999999d"), "reaches back before the calendar starts"),
    (("tools", "-p", "99999999999d"), "reaches back before the calendar starts"),
    (("metrics", "-p", "7d7"), "unknown period"),
    (("export", "sessions", "--since", "garbage"), "not a date"),
    (("sessions", "--since", "2026-13-45"), "not a date"),
])
def test_bad_input_is_one_line(home_with_db, args, needle):
    _one_error_line(run(*args), needle)


def test_a_file_that_is_not_a_database(bp_home):
    (bp_home / "telemetry.db").write_text("this is not a database\n")
    for args in (("ingest",), ("metrics",), ("purge", "--before", "2020-01-01", "--yes")):
        _one_error_line(run(*args), "not a readable Blueplane database")
    status = run("status")  # status still reports everything else
    assert status.returncode == 0 and "Traceback" not in status.stderr
    assert "cannot read telemetry.db" in status.stdout


@pytest.mark.anyio
async def test_the_mcp_server_says_what_is_wrong_with_a_period(home_with_db):
    async with Client(build_server()) as client:
        result = await client.call_tool("get_current_metrics", {"period": "999999d"})
    assert result.is_error
    assert "reaches back before the calendar starts" in result.content[0].text


@pytest.fixture
def anyio_backend():
    return "asyncio"
