"""Bad input to the MCP server: no database, an empty one, one from an older schema,
malformed arguments, unknown ids. Each gets a clear answer, and readers write nothing."""

from __future__ import annotations

import sqlite3

import pytest
from mcp import Client, MCPError

from blueplane_pipeline.core import config
from blueplane_pipeline.storage.db import open_db
from mcp_server.server import READ_TOOLS, build_server
from tests._telemetry_db import file_digest, make_schema_v1_db

pytestmark = pytest.mark.anyio

# The smallest valid arguments of each read tool.
ARGS = {"get_session_metrics": {"session_id": "abc"},
        "get_contextual_insights": {"tool": "Bash"},
        "search_similar_tasks": {"task": "fix the build"},
        "suggest_strategy": {"task": "fix the build"}}


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def results(calls: list[tuple[str, dict]]) -> list:
    async with Client(build_server()) as client:
        return [await client.call_tool(name, args) for name, args in calls]


def every_read_tool() -> list[tuple[str, dict]]:
    return [(fn.__name__, ARGS.get(fn.__name__, {})) for fn in READ_TOOLS]


async def test_no_database_yet(bp_home):
    for result in await results(every_read_tool()):
        assert result.is_error
        assert "no database at" in result.content[0].text
        assert "blueplane ingest" in result.content[0].text
    assert not config.db_path().exists()


async def test_empty_database(bp_home):
    open_db(config.db_path()).close()
    before = file_digest(config.db_path())
    out = dict(zip([n for n, _ in every_read_tool()],
                   await results(every_read_tool()), strict=True))
    session = out.pop("get_session_metrics")
    assert session.is_error
    assert session.content[0].text.endswith("no session 'abc' among 0 recorded sessions")
    insights = out.pop("get_contextual_insights")
    assert insights.is_error and "no calls of 'Bash'" in insights.content[0].text
    for name, result in out.items():
        assert not result.is_error, (name, result.content[0].text)
    assert out["get_current_metrics"].structured_content["note"] == "no sessions recorded yet"
    assert out["search_similar_tasks"].structured_content["matches"] == []
    assert out["suggest_strategy"].structured_content["note"] == "no turns recorded yet"
    assert out["recommend_tools"].structured_content["recommendations"] == []
    assert out["find_successful_patterns"].structured_content["turns_considered"] == 0
    assert file_digest(config.db_path()) == before


async def test_older_schema(bp_home):
    make_schema_v1_db(config.db_path())
    before = file_digest(config.db_path())
    for result in await results(every_read_tool()):
        assert result.is_error
        text = result.content[0].text
        assert "not built yet" in text and "schema v1" in text and "blueplane refresh" in text
    async with Client(build_server()) as client:
        schema = await client.read_resource("telemetry://schema")
    assert '"schema_version": 1' in schema.contents[0].text
    assert file_digest(config.db_path()) == before
    assert sqlite3.connect(config.db_path()).execute("PRAGMA user_version").fetchone()[0] == 1


@pytest.mark.parametrize(("name", "args", "message"), [
    ("get_current_metrics", {"period": "soon"}, "unknown period 'soon'"),
    ("get_current_metrics", {"platform": "vscode"}, "platform"),
    ("get_tool_performance", {"period": 7}, "period"),
    ("search_sessions", {"limit": "many"}, "limit"),
    ("search_sessions", {"since": "yesterday"}, "not a date: 'yesterday'"),
    ("get_contextual_insights", {"tool": "Bash", "file_ext": "py"}, "exactly one"),
    ("get_contextual_insights", {}, "exactly one"),
    ("get_contextual_insights", {"file_ext": "  "}, "file_ext is empty"),
    ("get_session_metrics", {}, "session_id"),
    ("get_current_metrics", {"project": "nowhere"}, "no project named 'nowhere'"),
])
async def test_malformed_arguments(bp_home, name, args, message):
    open_db(config.db_path()).close()
    (result,) = await results([(name, args)])
    assert result.is_error and message in result.content[0].text


async def test_unknown_session_resource(bp_home):
    open_db(config.db_path()).close()
    async with Client(build_server()) as client:
        with pytest.raises(MCPError, match="no session 'nope'"):
            await client.read_resource("telemetry://sessions/nope")


@pytest.mark.parametrize("name, args, needle", [
    ("log_outcome", {"outcome": "success", "metrics": {f"m{i}": i for i in range(21)}},
     "at most 20"),
    ("track_decision", {"decision": "use sqlite", "tags": [f"t{i}" for i in range(21)]},
     "at most 20"),
    ("track_decision", {"decision": "use sqlite", "options": ["x" * 201]}, "under 200"),
])
async def test_tracking_refuses_lists_beyond_their_caps(bp_home, name, args, needle):
    (result,) = await results([(name, args)])
    assert result.is_error and needle in result.content[0].text, result.content[0].text
    assert not list(bp_home.glob("spool/*.jsonl"))  # nothing was sent


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_an_outcome_with_a_non_finite_metric_is_refused_where_it_enters(bp_home, value):
    """A NaN that reaches the tool (JSON-RPC allows the token through Python's parser) would
    be refused by ingest later and dead-lettered: the tool says so at once instead."""
    from mcp.server.mcpserver.exceptions import ToolError

    from mcp_server.tracking import log_outcome

    with pytest.raises(ToolError, match="give a finite number"):
        log_outcome("success", metrics={"speedup": value})
    assert not list(bp_home.glob("spool/*.jsonl"))
