"""track_decision / log_outcome: events through the real embedded Redis (or the spool when
it is down), stored by the real ingest like any other event."""

from __future__ import annotations

import sqlite3

import pytest
from mcp import Client

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.datasette.plugins.blueplane_sql import register
from blueplane_pipeline.datasette.queries import CANNED_QUERIES
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.runtime import redis_server
from blueplane_pipeline.storage.reader import iter_events
from mcp_server.server import build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def track(**calls: dict) -> dict:
    out = {}
    async with Client(build_server()) as client:
        for name, args in calls.items():
            result = await client.call_tool(name.rstrip("_"), args)
            assert not result.is_error, result.content[0].text
            out[name] = result.structured_content
    return out


def stored_mcp_events() -> list[dict]:
    conn = sqlite3.connect(config.db_path())
    try:
        return [e.envelope for e in iter_events(conn, platform="mcp")]
    finally:
        conn.close()


async def test_decision_and_outcome_arrive_in_raw_events(redis_home):
    secret = "sk-ant-" + "a1b2c3d4" * 4
    sent = await track(track_decision={
        "decision": "use sqlite FTS5 for search", "session_id": "sess-42",
        "options": ["FTS5", "grep"], "rationale": f"ranked results; key was {secret}"})
    decision = sent["track_decision"]
    assert decision["delivered_to"] == "stream" and decision["event_type"] == "decision"
    sent = await track(log_outcome={"outcome": "success", "decision_id": decision["event_id"],
                                    "session_id": "sess-42", "metrics": {"latency_ms": 12.5}})
    outcome = sent["log_outcome"]
    stats = ingest(config.db_path(), config.redis_url(), trigger="test")
    assert stats.events_stored == 2
    events = {e["event_type"]: e for e in stored_mcp_events()}
    assert set(events) == {"decision", "outcome"}
    d, o = events["decision"], events["outcome"]
    assert (d["event_id"], d["source"], d["session_id"]) == (decision["event_id"], "mcp",
                                                            "sess-42")
    assert d["payload"]["decision"] == "use sqlite FTS5 for search"
    assert d["payload"]["options"] == ["FTS5", "grep"]
    assert secret not in d["payload"]["rationale"] and "[REDACTED]" in d["payload"]["rationale"]
    assert o["event_id"] == outcome["event_id"]
    assert o["payload"]["decision_id"] == decision["event_id"]
    assert o["payload"]["metrics"] == {"latency_ms": 12.5}
    # Datasette's canned query shows them, decoded by the blueplane_event SQL function.
    conn = sqlite3.connect(f"file:{config.db_path()}?mode=ro", uri=True)
    register(conn)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute(CANNED_QUERIES["mcp_decisions"]["sql"])]
    conn.close()
    assert [(r["event_type"], r["session_id"]) for r in rows] == [
        ("outcome", "sess-42"), ("decision", "sess-42")]
    assert rows[0]["outcome"] == "success" and rows[0]["decision_id"] == decision["event_id"]
    assert rows[1]["decision"] == "use sqlite FTS5 for search"


async def test_spooled_when_redis_is_down_then_ingested(bp_home):
    assert not redis_server.ping()
    sent = await track(track_decision={"decision": "retry with a smaller batch"})
    assert sent["track_decision"]["delivered_to"] == "spool"
    assert len(spool.pending_files(config.spool_dir())) == 1
    redis_server.start()
    stats = ingest(config.db_path(), config.redis_url(), trigger="test")
    assert stats.events_stored == 1 and not spool.pending_files(config.spool_dir())
    (event,) = stored_mcp_events()
    assert event["event_id"] == sent["track_decision"]["event_id"]
    assert event["session_id"] is None


@pytest.mark.parametrize(("name", "args", "message"), [
    ("track_decision", {"decision": "   "}, "decision is empty"),
    ("track_decision", {"decision": "x" * 5000}, "keep it under 4000"),
    ("log_outcome", {"outcome": "great"}, "outcome"),
    ("log_outcome", {"outcome": "failure", "decision_id": "not-an-id"},
     "is not an event id returned by track_decision"),
    ("track_decision", {}, "decision"),
])
async def test_malformed_tracking_arguments(bp_home, name, args, message):
    async with Client(build_server()) as client:
        result = await client.call_tool(name, args)
    assert result.is_error and message in result.content[0].text
    assert not spool.pending_files(config.spool_dir())
