"""Gemini CLI history through the real pipeline (importer -> Redis -> ingest -> tables).

Input: the session file the real Gemini CLI 0.61.0 wrote against a scripted stand-in
(``fixtures/gemini``: two turns, the second a ``--resume``; every gemini message that called
tools written twice). Expected: the stand-in's usage per response, ccusage 20.0.24's
``gemini daily|session|monthly --json`` over the same files, one tool call per call with
the outcome its exit code says.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.core import config
from blueplane_pipeline.sources.run import run_import
from blueplane_pipeline.storage.db import open_db
from tests._telemetry_db import refresh_tables

FIX = Path(__file__).parents[1] / "fixtures" / "gemini"
TOKEN_KEYS = (
    "inputTokens",
    "outputTokens",
    "cacheCreationTokens",
    "cacheReadTokens",
    "totalTokens",
)


def usage_json(*args: str) -> dict:
    result = CliRunner().invoke(
        cli, ["usage", *args, "--agent", "gemini", "--json", "--timezone", "UTC"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ccusage(report: str) -> dict:
    return json.loads((FIX / f"ccusage-20.0.24-gemini-{report}.json").read_text())


def close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= 1e-6 * abs(theirs) + 1e-12


@pytest.fixture
def imported(redis_home):
    result = run_import("gemini", [FIX / "gemini_home"], db_path=config.db_path())
    refresh_tables(config.db_path())
    return result


def test_usage_equals_the_standin_and_ccusage(imported):
    for report in ("daily", "monthly", "session"):
        ours, theirs = usage_json(report), ccusage(report)
        key = "sessions" if report == "session" else report
        assert len(ours[key]) == len(theirs[key]) == 1
        for mine, other in zip(ours[key], theirs[key], strict=True):
            assert set(mine) == set(other), report  # ccusage's gemini shape
            assert {k: mine[k] for k in TOKEN_KEYS} == {k: other[k] for k in TOKEN_KEYS}
            assert close(mine["totalCost"], other["totalCost"])
            assert mine["modelsUsed"] == other["modelsUsed"]
        assert {k: ours["totals"][k] for k in TOKEN_KEYS} == {
            k: theirs["totals"][k] for k in TOKEN_KEYS
        }
    served = [r["usageMetadata"] for r in json.loads((FIX / "standin_usage.json").read_text())]
    totals = usage_json("daily")["totals"]
    cached = sum(r.get("cachedContentTokenCount", 0) for r in served)
    assert totals["inputTokens"] == sum(r["promptTokenCount"] for r in served) - cached
    assert totals["cacheReadTokens"] == cached
    assert totals["outputTokens"] == sum(r["candidatesTokenCount"] for r in served)
    assert totals["totalTokens"] == sum(r["totalTokenCount"] for r in served)


def test_a_message_written_twice_is_counted_once(imported):
    conn = open_db(config.db_path())
    try:
        lines = conn.execute(
            "SELECT count(*) FROM raw_events_view WHERE platform = 'gemini'"
            " AND event_type = 'gemini'"
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT count(*) FROM token_usage WHERE platform = 'gemini'"
        ).fetchone()[0]
    finally:
        conn.close()
    served = json.loads((FIX / "standin_usage.json").read_text())
    assert rows == len(served) == 6
    assert lines == 10  # four of the six were written twice


def test_tool_calls_with_the_exit_code_as_outcome(imported):
    conn = open_db(config.db_path())
    try:
        calls = conn.execute(
            "SELECT tool_name, status, lines_added, lines_removed FROM"
            " tool_calls WHERE platform = 'gemini' ORDER BY started_at"
        ).fetchall()
        prompts = conn.execute("SELECT prompts FROM sessions WHERE platform = 'gemini'").fetchone()
    finally:
        conn.close()
    assert calls == [
        ("Bash", "error", 0, 0),  # exit 2, a "success" to Gemini
        ("Bash", "success", 0, 0),
        ("Write", "success", 3, 0),  # diffStat: 3 lines
        ("Bash", "success", 0, 0),
    ]
    assert prompts == (2,)
