"""The registry's promise: a new assistant is one module plus one registration line.

``tests/registry/tapedeck.py`` is a throwaway assistant with a tiny history format. Once
registered (and nothing else edited) its work shows up in ``sessions``, ``tool_calls``,
``token_usage``, the CLI's ``import`` and ``usage`` reports and the MCP metrics.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from mcp import Client

from blueplane_cli.main import cli
from blueplane_pipeline.analytics.refresh import refresh_all
from blueplane_pipeline.core import config, platforms
from blueplane_pipeline.core.platforms import Platform
from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.usage.store import refresh as refresh_usage
from mcp_server.server import build_server

SESSION = "tape-session-1"
LINES = [
    {"kind": "prompt", "text": "rename the helper"},
    {"kind": "call", "call_id": "c1", "tool": "Bash", "input": {"command": "ls"}},
    {"kind": "result", "call_id": "c1", "ok": True},
    {"kind": "call", "call_id": "c2", "tool": "Bash", "input": {"command": "false"}},
    {"kind": "result", "call_id": "c2", "ok": False},
    {"kind": "reply", "id": "r1", "model": "claude-sonnet-4-5",
     "usage": {"in": 1200, "out": 340}},
]


@pytest.fixture
def tapedeck(bp_home, tmp_path):
    """The assistant registered (its one line), a tape on disk, imported and refreshed."""
    platforms.register(Platform("tapedeck", "tapedeck", "Tapedeck", "tests.registry.tapedeck"))
    tapes = tmp_path / "tapes"
    tapes.mkdir()
    with (tapes / "one.tape").open("w") as fh:
        for i, line in enumerate(LINES):
            fh.write(json.dumps({**line, "session": SESSION, "cwd": "/work/shelf",
                                 "t": f"2026-11-30T10:00:{i:02d}.000Z"}) + "\n")
    try:
        yield tapes
    finally:
        platforms.unregister("tapedeck")


def _import_and_refresh(tapes) -> str:
    result = CliRunner().invoke(cli, ["import", "tapedeck", "--tape-dir", str(tapes)])
    assert result.exit_code == 0, result.output
    conn = open_db(config.db_path())
    try:
        refresh_usage(conn, load_price_table())
        refresh_all(conn)
    finally:
        conn.close()
    return result.output


def test_a_registered_assistant_reaches_every_table(tapedeck):
    output = _import_and_refresh(tapedeck)
    assert f"stored {len(LINES)} new events" in output
    conn = open_db(config.db_path())
    try:
        session = conn.execute("SELECT platform, prompts, tool_calls, input_tokens,"
                               " output_tokens FROM sessions WHERE session_id = ?",
                               (SESSION,)).fetchone()
        calls = conn.execute("SELECT tool_name, status FROM tool_calls WHERE session_id = ?"
                             " ORDER BY tool_use_id", (SESSION,)).fetchall()
        usage = conn.execute("SELECT platform, input_tokens, output_tokens, cost_usd"
                             " FROM token_usage").fetchall()
    finally:
        conn.close()
    assert session == ("tapedeck", 1, 2, 1200, 340)
    assert calls == [("Bash", "success"), ("Bash", "error")]
    assert len(usage) == 1 and usage[0][:3] == ("tapedeck", 1200, 340) and usage[0][3] > 0
    # importing again stores nothing new (deterministic ids)
    assert "stored 0 new events" in _import_and_refresh(tapedeck)


def test_a_registered_assistant_is_in_the_reports(tapedeck):
    _import_and_refresh(tapedeck)
    daily = json.loads(CliRunner().invoke(
        cli, ["usage", "daily", "--json", "--since", "20261130"]).output)
    assert daily["totals"]["inputTokens"] == 1200 and daily["totals"]["outputTokens"] == 340


@pytest.mark.anyio
async def test_a_registered_assistant_is_in_the_mcp_metrics(tapedeck):
    _import_and_refresh(tapedeck)
    async with Client(build_server()) as client:
        result = await client.call_tool("get_current_metrics",
                                        {"period": "all", "platform": "tapedeck"})
    assert not result.is_error, result.content[0].text
    metrics = result.structured_content
    assert metrics["platform"] == "tapedeck"
    assert (metrics["sessions"], metrics["tool_calls"], metrics["tool_errors"]) == (1, 2, 1)
    assert metrics["total_tokens"] == 1540 and metrics["cost_usd"] > 0


@pytest.fixture
def anyio_backend():
    return "asyncio"
