"""``blueplane-mcp`` as Claude Code runs it: a real process speaking MCP over stdio."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.runtime import redis_server
from blueplane_pipeline.storage.reader import iter_events
from tests._telemetry_db import build_from_fixtures, temp_home

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def server_params(home: Path) -> StdioServerParameters:
    exe = Path(sys.executable).parent / "blueplane-mcp"
    command, args = ((str(exe), []) if exe.exists()
                     else (sys.executable, ["-m", "mcp_server.server"]))
    return StdioServerParameters(command=command, args=args,
                                 env={"BLUEPLANE_HOME": str(home)}, cwd=str(home))


async def test_stdio_round_trip():
    with temp_home() as home:
        db = build_from_fixtures(home)
        sessions = sqlite3.connect(db).execute("SELECT count(*) FROM sessions").fetchone()[0]
        redis_server.start()
        async with Client(server_params(home), mode="legacy") as client:
            assert client.server_info.name == "blueplane"
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"get_current_metrics", "track_decision", "suggest_strategy"} <= names
            metrics = await client.call_tool("get_current_metrics", {"period": "all"})
            assert metrics.structured_content["sessions"] == sessions
            unknown = await client.call_tool("get_session_metrics", {"session_id": "zzz"})
            assert unknown.is_error and "no session 'zzz'" in unknown.content[0].text
            tracked = await client.call_tool("track_decision", {"decision": "ship it"})
            assert tracked.structured_content["delivered_to"] == "stream"
            schema = await client.read_resource("telemetry://schema")
            assert "tool_calls" in schema.contents[0].text
        stats = ingest(config.db_path(), config.redis_url(), trigger="test")
        assert stats.events_stored == 1
        conn = sqlite3.connect(db)
        (event,) = [e.envelope for e in iter_events(conn, platform="mcp")]
        conn.close()
        assert event["payload"]["decision"] == "ship it"
        assert event["event_id"] == tracked.structured_content["event_id"]
