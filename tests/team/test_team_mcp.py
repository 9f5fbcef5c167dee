"""The MCP server's team tool: absent without ``team.url``; with it, read-only and the
same numbers as ``blueplane team report``."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_server.server import build_server
from tests._team import (
    PROJECTS,
    as_home,
    laptops,  # noqa: F401 - fixture
    team_url,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def _tools() -> dict:
    async with Client(build_server()) as client:
        return {t.name: t for t in (await client.list_tools()).tools}


async def test_only_with_a_team_url(bp_home):
    assert "get_team_report" not in await _tools()


async def test_the_team_tool_reads_the_team_store(team_url, laptops):  # noqa: F811
    laptop = laptops("mcp", PROJECTS[:4], team_url=team_url, developer="ada")
    laptop.cli("team", "publish")
    expected = laptop.json("team", "report", "developers", "--json")
    daily = laptop.json("team", "report", "daily", "--json", "--timezone", "UTC")
    with as_home(laptop.home):
        tools = await _tools()
        assert tools["get_team_report"].annotations.read_only_hint is True
        async with Client(build_server()) as client:
            got = (await client.call_tool("get_team_report", {})).structured_content
            per_day = (await client.call_tool("get_team_report", {"report": "daily"})
                       ).structured_content
            bad = await client.call_tool("get_team_report", {"since": "someday"})
    assert got["rows"] == expected["developers"] and got["totals"] == expected["totals"]
    assert per_day["rows"] == daily["daily"] and per_day["totals"] == daily["totals"]
    assert bad.is_error and "is not a date" in bad.content[0].text
