"""Budgets: spend from built histories crosses 80 % and 100 %, the hook's hard cap and
once-only notice (the real hook process), pause, and the `blueplane budget` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.analytics.refresh import refresh_all
from blueplane_pipeline.budgets import evaluate, spend, store
from blueplane_pipeline.capture import hook
from blueplane_pipeline.core import config
from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.usage.store import refresh as refresh_usage

MODEL = "claude-sonnet-4-5-20250929"  # $3 per million input tokens in the shipped prices
RUN_HOOK = Path(hook.__file__).with_name("run_hook.py")


def _line(ts_ms: int, n: int, input_tokens: int, session: str = "sess-budget") -> dict:
    return {"type": "assistant", "sessionId": session, "cwd": "/work/shop",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms / 1000))
            + f".{ts_ms % 1000:03d}Z",
            "uuid": f"u-{session}-{n}", "requestId": f"req-{session}-{n}",
            "message": {"id": f"msg-{session}-{n}", "model": MODEL, "role": "assistant",
                        "content": [{"type": "text", "text": "ok"}],
                        "usage": {"input_tokens": input_tokens, "output_tokens": 0}}}


def _import(claude_dir: Path, lines: list[dict]) -> dict:
    """Write the transcript, import it through Redis + ingest, refresh token usage, and
    the analytics, and compute the spend as the spend_state asset does."""
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.run import run_import

    path = claude_dir / "projects" / "-work-shop" / "sess-budget.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    redis_server.start()
    run_import("claude_code", [claude_dir], db_path=config.db_path(), background_ingest=False)
    conn = open_db(config.db_path())
    try:
        refresh_usage(conn, load_price_table())
        refresh_all(conn)  # sessions name the projects
        data = spend.refresh(conn)
    finally:
        conn.close()
    return data


def test_a_built_history_crosses_80_then_100_percent(redis_home, tmp_path):
    now = int(time.time() * 1000)
    doc = store.upsert({"budgets": []}, "daily", 10.0, None, enforce=False)
    doc = store.upsert(doc, "block", 3.0, "shop", enforce=False)
    # $8.40 today: 2.8 M input tokens at $3/M in 20 messages of 140 k (below the 200 k
    # long-context tier, which bills more), the last one 10 minutes ago
    lines = [_line(now - (29 - n) * 60_000, n + 1, 140_000) for n in range(20)]
    data = _import(tmp_path / "claude", lines)
    assert data["days"][evaluate.local_days(now, "daily")[0]]["*"] == pytest.approx(8.4)
    states = {s["id"]: s for s in evaluate.evaluate(doc, data, now)}
    assert states["daily"]["level"] == "warn" and states["daily"]["ratio"] == pytest.approx(0.84)
    assert states["block:shop"]["level"] == "over"  # the project's block holds all of it
    # One more message: $10.20, over.
    more = [_line(now - 60_000 + n, 21 + n, 150_000) for n in range(4)]
    data = _import(tmp_path / "claude", [*lines, *more])
    daily = next(s for s in evaluate.evaluate(doc, data, now) if s["id"] == "daily")
    assert daily["level"] == "over" and daily["spent"] == pytest.approx(10.2)
    assert not daily["denies"]  # not enforced
    # What the readers and spend.json agree on
    assert json.loads(Path(config.spend_path_str()).read_text())["days"] == data["days"]


def test_windows_and_the_block_end():
    now = int(time.mktime((2026, 12, 2, 15, 0, 0, 0, 0, -1)) * 1000)  # a Wednesday
    assert evaluate.local_days(now, "weekly") == ["2026-11-30", "2026-12-01", "2026-12-02"]
    assert evaluate.local_days(now, "monthly") == ["2026-12-01", "2026-12-02"]
    data = {"days": {"2026-11-29": {"*": 50.0}, "2026-11-30": {"*": 1.0},
                     "2026-12-02": {"*": 2.0, "web": 0.5}},
            "block": {"start_ms": now - 3600_000, "end_ms": now + 4 * 3600_000, "cost": 4.0,
                      "by_project": {"web": 1.0}}}
    assert evaluate.spent(data, "weekly", None, now)[0] == 3.0  # Sunday is last week
    assert evaluate.spent(data, "monthly", "web", now)[0] == 0.5
    assert evaluate.spent(data, "block", None, now)[0] == 4.0
    assert evaluate.spent(data, "block", "web", now)[0] == 1.0
    assert evaluate.spent(data, "block", None, now + 5 * 3600_000)[0] == 0.0  # ended


def _hook(payload: dict, platform: str = "claude-code") -> str:
    proc = subprocess.run([sys.executable, "-S", str(RUN_HOOK), platform],
                          input=json.dumps(payload).encode(), capture_output=True,
                          env={**os.environ, "BLUEPLANE_HOOK_TIMEOUT": "0.05"}, timeout=30)
    assert proc.returncode == 0 and not proc.stderr
    return proc.stdout.decode()


def _over(home: Path, enforce: bool, spent_today: float = 12.0) -> None:
    now = int(time.time() * 1000)
    today = evaluate.local_days(now, "daily")[0]
    store.save(config.budgets_path_str(),
               store.upsert({"budgets": []}, "daily", 10.0, None, enforce=enforce))
    spend.write({"generated_at_ms": now, "days": {today: {"*": spent_today}}, "block": None,
                 "sessions": {}})


PRE_TOOL = {"hook_event_name": "PreToolUse", "session_id": "s1", "cwd": "/work/shop",
            "tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": "ls"}}
PROMPT = {"hook_event_name": "UserPromptSubmit", "session_id": "s1", "cwd": "/work/shop",
          "prompt": "go on"}


def test_without_a_budget_the_hook_answers_as_before(bp_home):
    assert _hook(PRE_TOOL) == ""
    assert _hook({"hook_event_name": "beforeShellExecution", "command": "ls"},
                 "cursor").strip() == '{"permission": "allow"}'


def test_the_hard_cap_denies_tool_calls_and_pause_lifts_it(bp_home):
    _over(bp_home, enforce=True)
    answer = json.loads(_hook(PRE_TOOL))["hookSpecificOutput"]
    assert answer["hookEventName"] == "PreToolUse" and answer["permissionDecision"] == "deny"
    assert "daily budget $10.00: $12.00 spent (120 %)" in answer["permissionDecisionReason"]
    cursor = json.loads(_hook({"hook_event_name": "beforeShellExecution", "command": "ls"},
                              "cursor"))
    assert cursor["permission"] == "deny" and "pause" in cursor["agentMessage"]
    result = CliRunner().invoke(cli, ["budget", "pause", "1h"])
    assert result.exit_code == 0, result.output
    out = _hook(PRE_TOOL)
    assert "permissionDecision" not in out  # lifted (the once-only notice may still show)
    assert json.loads(_hook({"hook_event_name": "beforeShellExecution", "command": "ls"},
                            "cursor")) == {"permission": "allow"}
    CliRunner().invoke(cli, ["budget", "pause", "off"])
    assert "deny" in _hook(PRE_TOOL)


def test_a_crossing_is_told_once_per_window(bp_home):
    _over(bp_home, enforce=False, spent_today=8.5)
    first = json.loads(_hook(PROMPT))
    assert first == {"systemMessage": "Blueplane: daily budget $10.00: $8.50 spent (85 %), "
                                      "at 80 %."}
    assert _hook(PROMPT) == "" and _hook(PRE_TOOL) == ""  # once
    _over(bp_home, enforce=False, spent_today=10.5)  # now over: a new crossing
    assert "reached" in json.loads(_hook(PRE_TOOL))["systemMessage"]
    assert _hook(PROMPT) == ""


def test_budget_commands_round_trip(bp_home):
    run = CliRunner().invoke
    assert "No budget set" in run(cli, ["budget", "status"]).output
    out = run(cli, ["budget", "set", "weekly", "$25", "--project", "shop", "--enforce"])
    assert out.exit_code == 0 and "weekly:shop" in out.output and "hard cap" in out.output
    run(cli, ["budget", "set", "daily", "5"])
    listed = json.loads(run(cli, ["budget", "list", "--json"]).output)
    assert [b["id"] for b in listed["budgets"]] == ["daily", "weekly:shop"]
    status = json.loads(run(cli, ["budget", "status", "--json"]).output)
    assert {s["id"]: s["level"] for s in status["budgets"]} == {"daily": "ok",
                                                                "weekly:shop": "ok"}
    assert run(cli, ["budget", "rm", "daily"]).exit_code == 0
    bad = run(cli, ["budget", "rm", "daily"])
    assert bad.exit_code == 1 and "no budget 'daily' (set: weekly:shop)" in bad.output
    assert run(cli, ["budget", "set", "daily", "abc"]).exit_code == 1
    assert "not a duration" in run(cli, ["budget", "pause", "soon"]).output
    run(cli, ["budget", "rm", "weekly:shop"])
    assert not Path(config.budgets_path_str()).exists()  # the hook's fast path is back


def test_readers_show_the_budget_states():
    """`status`, `watch` and the MCP get_current_metrics show the same states."""
    import asyncio

    from mcp import Client

    from mcp_server.server import build_server
    from tests._telemetry_db import build_from_fixtures, temp_home

    with temp_home() as home:
        build_from_fixtures(home)
        _over(home, enforce=True, spent_today=9.0)
        run = CliRunner().invoke
        status = json.loads(run(cli, ["status", "--json"]).output)
        (state,) = status["budgets"]["budgets"]
        assert (state["id"], state["level"], state["denies"]) == ("daily", "warn", False)
        assert "budgets: daily $9.00/$10.00 (90 %) ⚠" in run(cli, ["status"]).output
        watch = json.loads(run(cli, ["watch", "--once", "--json"]).output)
        assert watch["budgets"]["budgets"] == [state]
        assert "Budgets  daily $9.00/$10.00 (90 %)" in run(cli, ["watch", "--once"]).output

        async def metrics() -> dict:
            async with Client(build_server()) as client:
                result = await client.call_tool("get_current_metrics", {"period": "all"})
            return result.structured_content

        assert asyncio.run(metrics())["budgets"] == [state]
