"""The readers with and without OTel data: `metrics`, `analyze` and the MCP tools show
lines of code, active time and user-decided acceptance, or say "no OTel data"."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from click.testing import CliRunner
from mcp import Client

from blueplane_cli.main import cli
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.orchestration.assets.analytics import ANALYTICS_ASSETS
from blueplane_pipeline.orchestration.assets.otel import OTEL_ASSETS
from blueplane_pipeline.orchestration.assets.token_usage import token_usage
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from mcp_server.server import build_server
from tests._collector import fixture_requests, hook_bodies, post, running_collector

SESSION = "3da242e3-a726-4e6c-9d1b-83a96a7c0566"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def build(otel: bool) -> None:
    with running_collector() as server:
        port = server.server_address[1]
        for body in hook_bodies():
            assert post(port, "/hook/claude-code", body)[0] == 200
        if otel:
            for row, body in fixture_requests("http-json"):
                assert post(port, row["path"], body)[0] == 200
    ingest()
    assert dg.materialize(
        [token_usage, *OTEL_ASSETS, *ANALYTICS_ASSETS], resources={"blueplane": BlueplaneResource()}
    ).success


def cli_out(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def mcp(name: str, **args) -> dict:
    async with Client(build_server()) as client:
        result = await client.call_tool(name, args)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_readers_show_what_otel_measured(bp_home):
    build(otel=True)
    metrics = json.loads(cli_out("metrics", "--period", "all", "--json"))["otel"]
    assert (metrics["otel_lines_added"], metrics["otel_api_requests"]) == (4, 5)
    assert metrics["otel_active_cli_s"] > 0 and metrics["user_decisions"] == 0
    assert metrics["user_acceptance_rate"] is None and "by a person" in metrics["note"]
    text = cli_out("metrics", "--period", "all")
    assert "lines of code +4 / -0" in text and "user-decided acceptance: none" in text
    detail = json.loads(cli_out("analyze", SESSION[:8], "--json"))
    assert detail["otel"]["otel_lines_added"] == 4 and detail["otel"]["note"] is None
    assert "lines of code +4" in cli_out("analyze", SESSION[:8])
    current = await mcp("get_current_metrics", period="all")
    assert current["otel"]["otel_lines_added"] == 4
    assert current["otel"]["otel_cost_usd"] == pytest.approx(0.07087)
    session = await mcp("get_session_metrics", session_id=SESSION[:8])
    assert session["otel"]["otel_api_requests"] == 5


async def test_readers_say_no_otel_data(bp_home):
    build(otel=False)
    metrics = json.loads(cli_out("metrics", "--period", "all", "--json"))["otel"]
    assert metrics["otel_lines_added"] is None and "no OTel data" in metrics["note"]
    assert "OpenTelemetry: no OTel data" in cli_out("metrics", "--period", "all")
    assert "no OTel data" in cli_out("analyze", SESSION[:8])
    current = await mcp("get_current_metrics", period="all")
    assert current["otel"]["user_acceptance_rate"] is None
    assert "no OTel data" in current["otel"]["note"]
    session = await mcp("get_session_metrics", session_id=SESSION[:8])
    assert "no OTel data" in session["otel"]["note"]


def _cards() -> dict:
    import re
    import sqlite3

    from blueplane_pipeline.core import config
    from blueplane_pipeline.datasette.queries import DASHBOARD_CHARTS

    conn = sqlite3.connect(config.db_path())
    out = {}
    for slug in ("otel-user-acceptance", "otel-lines", "otel-active-time"):
        sql = re.sub(r"\[\[.*?\]\]", "", DASHBOARD_CHARTS[slug]["query"])
        out[slug] = conn.execute(sql).fetchone()[0]
    return out


def test_dashboard_cards_with_and_without_otel(bp_home, tmp_path, monkeypatch):
    build(otel=False)
    assert set(_cards().values()) == {"no OTel data"}
    monkeypatch.setenv("BLUEPLANE_HOME", str(tmp_path))
    build(otel=True)
    cards = _cards()
    assert cards["otel-lines"] == "+4 / -0"
    assert cards["otel-user-acceptance"] == "no decision by a person"
    assert cards["otel-active-time"].startswith("0.0 h / 0.0")
