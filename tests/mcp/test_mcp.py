"""The MCP server through the SDK's in-memory ``Client``, over a telemetry.db built by the
real pipeline from real transcripts. Expected numbers are recomputed here with plain SQL
over the same file, never typed in."""

from __future__ import annotations

import json
import sqlite3

import pytest
from mcp import Client

from blueplane_pipeline.analytics.metrics import percentile
from blueplane_pipeline.storage.analytics_docs import TABLE_DOCS
from mcp_server.server import READ_TOOLS, WRITE_TOOLS, build_server
from tests._telemetry_db import build_from_fixtures, file_digest, temp_home

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def db():
    with temp_home() as home:
        yield build_from_fixtures(home)


def sql(db, query: str, *params):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


async def call(name: str, **args) -> dict:
    async with Client(build_server()) as client:
        result = await client.call_tool(name, args)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_tools_listed_with_schemas_and_annotations():
    async with Client(build_server()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {f.__name__ for f in READ_TOOLS + WRITE_TOOLS}
    for fn in READ_TOOLS:
        tool = tools[fn.__name__]
        assert tool.annotations.read_only_hint is True
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.description
    for fn in WRITE_TOOLS:
        assert tools[fn.__name__].annotations.read_only_hint is False
        assert tools[fn.__name__].annotations.destructive_hint is False


async def test_current_metrics_match_the_tables(db):
    m = await call("get_current_metrics", period="all")
    assert m["sessions"] == sql(db, "SELECT count(*) FROM sessions")[0][0]
    assert m["tool_calls"] == sql(db, "SELECT count(*) FROM tool_calls")[0][0]
    assert m["cost_usd"] == pytest.approx(sql(db, "SELECT sum(cost_usd) FROM token_usage")[0][0])
    latencies = [r[0] for r in sql(db, "SELECT latency_ms FROM tool_calls"
                                       " WHERE latency_ms IS NOT NULL")]
    assert m["latency_p95_ms"] == pytest.approx(percentile(latencies, 95), abs=0.01)
    acc, rej = sql(db, "SELECT sum(accepted = 1), sum(accepted = 0) FROM file_edits")[0]
    assert m["acceptance_rate"] == pytest.approx(acc / (acc + rej))
    recent = await call("get_current_metrics", period="7d")
    assert {c["name"] for c in recent["changes"]} >= {"sessions", "error_rate", "cost_usd"}


@pytest.fixture
def fake_assistant():
    """An assistant registered at run time, as a new platform module would register it."""
    from blueplane_pipeline.core import platforms

    platforms.register(platforms.Platform("fake_ai", "fake-ai", "Fake AI"))
    yield "fake_ai"
    platforms.unregister("fake_ai")


async def test_platform_choices_come_from_the_registry(db, fake_assistant):
    async with Client(build_server()) as client:
        assert "Claude Code, Cursor, Codex CLI, Gemini CLI and Fake AI sessions" in \
            client.instructions
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("get_current_metrics", "get_tool_performance", "search_sessions"):
            choices = tools[name].input_schema["properties"]["platform"]["anyOf"][0]["enum"]
            assert choices == ["claude_code", "cursor", "codex", "gemini", "fake_ai"], name
        result = await client.call_tool("get_current_metrics",
                                        {"period": "all", "platform": "fake_ai"})
        assert not result.is_error, result.content[0].text
        assert result.structured_content["platform"] == "fake_ai"
        assert result.structured_content["sessions"] == 0  # none recorded by it
        unknown = await client.call_tool("get_current_metrics", {"platform": "vscode"})
    assert unknown.is_error
    assert ("unknown platform 'vscode': use one of claude_code, cursor, codex, gemini, fake_ai"
            in unknown.content[0].text)


async def test_session_metrics_by_prefix(db):
    sid, calls = sql(db, "SELECT session_id, tool_calls FROM sessions"
                         " ORDER BY tool_calls DESC LIMIT 1")[0]
    s = await call("get_session_metrics", session_id=sid[:8])
    assert s["session_id"] == sid
    assert sum(t["calls"] for t in s["tools"]) == calls
    assert len(s["turns"]) == sql(db, "SELECT count(*) FROM turns WHERE session_id = ?", sid)[0][0]
    assert any("→" in t["tool_sequence"] for t in s["turns"])


async def test_tool_performance_and_errors(db):
    perf = await call("get_tool_performance", period="all")
    expected = dict(sql(db, "SELECT tool_name, count(*) FROM tool_calls GROUP BY tool_name"))
    assert {t["tool_name"]: t["calls"] for t in perf["tools"]} == expected
    errors = await call("get_error_patterns", period="all")
    failed = sql(db, "SELECT count(*) FROM tool_calls"
                     " WHERE status IN ('error', 'rejected', 'interrupted')")[0][0]
    assert errors["failed_calls"] == failed == sum(g["calls"] for g in errors["groups"])
    assert errors["findings"] and all(f["evidence"] for f in errors["findings"])


async def test_acceptance_and_productivity(db):
    acc = await call("analyze_acceptance_patterns", period="all")
    accepted, rejected = sql(db, "SELECT sum(accepted = 1), sum(accepted = 0) FROM file_edits")[0]
    assert (acc["overall"]["accepted"], acc["overall"]["rejected"]) == (accepted, rejected)
    by_ext = {r["key"]: r["accepted"] for r in acc["by_file_ext"]}
    assert by_ext == dict(sql(db, "SELECT file_ext, coalesce(sum(accepted = 1), 0)"
                                  " FROM file_edits GROUP BY file_ext"))
    prod = await call("analyze_productivity", period="all")
    active_s, edits = sql(db, "SELECT sum(active_s), sum(edits_accepted) FROM metrics_daily")[0]
    assert prod["totals"]["active_hours"] == pytest.approx(active_s / 3600, abs=0.001)
    assert prod["totals"]["accepted_edits_per_active_hour"] == pytest.approx(
        edits / (active_s / 3600), rel=1e-3)
    assert "active_hours" in prod["formula"]


async def test_contextual_insights(db):
    ext = await call("get_contextual_insights", file_ext="PY", period="all")
    assert ext["value"] == ".py"
    accepted = sql(db, "SELECT sum(accepted = 1) FROM file_edits WHERE file_ext = '.py'")[0][0]
    assert ext["findings"][0]["evidence"]["accepted"] == accepted
    tool = await call("get_contextual_insights", tool="Bash", period="all")
    calls = sql(db, "SELECT count(*) FROM tool_calls WHERE tool_name = 'Bash'")[0][0]
    assert tool["findings"][0]["evidence"]["calls"] == calls
    project = sql(db, "SELECT project_name FROM sessions GROUP BY 1 ORDER BY count(*) DESC")[0][0]
    proj = await call("get_contextual_insights", project=project, period="all")
    n = sql(db, "SELECT count(*) FROM sessions WHERE project_name = ?", project)[0][0]
    assert proj["findings"][0]["evidence"]["sessions"] == n


async def test_search_similar_tasks_finds_the_prompt_itself(db):
    rows = sql(db, "SELECT session_id, turn_index, prompt_text FROM turns"
                   " WHERE length(prompt_text) BETWEEN 40 AND 2000")
    prefixes = [r[2][:100] for r in rows]
    unique = [r for r in rows if prefixes.count(r[2][:100]) == 1]
    sid, idx, prompt = max(unique, key=lambda r: len(set(r[2][:200].split())))
    found = await call("search_similar_tasks", task=prompt[:200], limit=5)
    top = found["matches"][0]
    assert (top["session_id"], top["turn_index"]) == (sid, idx)
    assert top["tool_sequence"] is not None and top["succeeded"] in (True, False)
    scores = [m["score"] for m in found["matches"]]
    assert scores == sorted(scores, reverse=True)
    sessions = await call("search_sessions", text=prompt[:200])
    assert sessions["sessions"][0]["session_id"] == sid
    other = sql(db, "SELECT project_name FROM sessions WHERE session_id != ? AND"
                    " project_name != (SELECT project_name FROM sessions WHERE session_id = ?)"
                    " LIMIT 1", sid, sid)[0][0]
    filtered = await call("search_sessions", text=prompt[:200], project=other)
    assert sid not in {s["session_id"] for s in filtered["sessions"]}


async def test_successful_patterns_follow_the_definition(db):
    found = await call("find_successful_patterns", period="all", min_support=1, limit=200)
    succeeded = sql(db, "SELECT count(*) FROM turns WHERE tool_calls > 0 AND tool_errors = 0"
                        " AND tool_rejected = 0 AND tool_interrupted = 0 AND interrupted = 0"
                        " AND edits_rejected = 0")[0][0]
    assert found["turns_considered"] == sql(db, "SELECT count(*) FROM turns")[0][0]
    assert found["turns_succeeded"] == succeeded
    assert sum(p["successes"] for p in found["patterns"]) == succeeded
    scores = [p["score"] for p in found["patterns"]]
    assert scores == sorted(scores, reverse=True)


async def test_recommendations_rest_on_counts(db):
    rec = await call("recommend_tools", file_ext=".py", period="all")
    assert rec["calls_considered"] == sql(
        db, "SELECT count(*) FROM tool_calls WHERE file_ext = '.py'")[0][0]
    for r in rec["recommendations"]:
        ok, n = sql(db, "SELECT sum(status = 'success'), count(*) FROM tool_calls"
                        " WHERE file_ext = '.py' AND tool_name = ?", r["tool_name"])[0]
        assert r["calls"] == n and f"{ok}/" in r["reason"]
    prompt = sql(db, "SELECT prompt_text FROM turns WHERE tool_calls > 3"
                     " ORDER BY tool_calls DESC LIMIT 1")[0][0]
    by_task = await call("recommend_tools", task=prompt[:200], period="all")
    assert by_task["calls_considered"] > 0 and by_task["recommendations"]
    strategy = await call("suggest_strategy", task=prompt[:200], file_ext="py")
    assert strategy["similar_turns"] > 0
    kinds = {s["kind"] for s in strategy["suggestions"]}
    assert {"outcome", "file_type"} <= kinds
    outcome = next(s for s in strategy["suggestions"] if s["kind"] == "outcome")
    assert outcome["evidence"]["similar"] == strategy["similar_turns"]
    nothing = await call("suggest_strategy", task="zzqx wvvk")
    assert nothing["similar_turns"] == 0 and nothing["suggestions"] == []
    assert "no similar past tasks" in nothing["note"]


async def test_resources(db):
    sid = sql(db, "SELECT session_id FROM sessions LIMIT 1")[0][0]
    async with Client(build_server()) as client:
        schema = json.loads((await client.read_resource("telemetry://schema")).contents[0].text)
        session = json.loads(
            (await client.read_resource(f"telemetry://sessions/{sid}")).contents[0].text)
        templates = (await client.list_resource_templates()).resource_templates
    assert schema["tables"]["tool_calls"]["present"]
    assert (schema["tables"]["tool_calls"]["columns"]["latency_ms"]
            == TABLE_DOCS["tool_calls"]["columns"]["latency_ms"])
    assert schema["schema_version"] == schema["latest_schema_version"]
    assert session["session"]["session_id"] == sid and isinstance(session["turns"], list)
    assert [t.uri_template for t in templates] == ["telemetry://sessions/{session_id}"]


async def test_read_tools_write_nothing(db):
    before = file_digest(db)
    sid = sql(db, "SELECT session_id FROM sessions LIMIT 1")[0][0]
    async with Client(build_server()) as client:
        for fn in READ_TOOLS:
            args = {"get_session_metrics": {"session_id": sid},
                    "get_contextual_insights": {"tool": "Read", "period": "all"},
                    "search_similar_tasks": {"task": "fix tests"},
                    "suggest_strategy": {"task": "fix tests"}}.get(fn.__name__, {})
            result = await client.call_tool(fn.__name__, args)
            assert not result.is_error, (fn.__name__, result.content[0].text)
    assert file_digest(db) == before


def test_docs_list_every_tool_and_resource():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "mcp.md").read_text()
    for fn in READ_TOOLS + WRITE_TOOLS:
        assert f"| `{fn.__name__}` |" in text, fn.__name__
    assert "`telemetry://schema`" in text and "`telemetry://sessions/{session_id}`" in text
