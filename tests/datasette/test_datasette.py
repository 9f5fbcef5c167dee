"""Datasette over a real telemetry.db: metadata, hidden tables, canned queries, dashboard,
the SQL functions, read-only use, empty and older databases. Uses Datasette's own client.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette

from blueplane_pipeline.analytics.metrics import percentile
from blueplane_pipeline.datasette.config import (
    DASHBOARD_SLUG,
    PLUGINS_DIR,
    SETTINGS,
    build_metadata,
    tables_in,
)
from blueplane_pipeline.datasette.queries import CANNED_QUERIES, DASHBOARD_CHARTS
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events
from blueplane_pipeline.storage.table_docs import HIDDEN_TABLES, all_table_docs
from tests._telemetry_db import (
    build_from_fixtures,
    file_digest,
    make_schema_v1_db,
    temp_home,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def pipeline_db() -> Path:
    with temp_home() as home:
        yield build_from_fixtures(home)


def make_datasette(db: Path) -> Datasette:
    return Datasette([str(db)], metadata=build_metadata(db.stem, tables_in(db)),
                     plugins_dir=str(PLUGINS_DIR), settings=SETTINGS)


async def get_json(ds: Datasette, path: str) -> dict:
    response = await ds.client.get(path)
    assert response.status_code == 200, (path, response.text[:500])
    return response.json()


def db_tables(db: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            " AND name NOT LIKE 'sqlite_%'")]
        return {n: [r[1] for r in conn.execute(f"PRAGMA table_info({n})")] for n in names}
    finally:
        conn.close()


def test_every_table_and_column_is_described(tmp_path):
    db = tmp_path / "telemetry.db"
    open_db(db).close()
    docs = all_table_docs()
    for table, columns in db_tables(db).items():
        assert table in docs, f"table {table} has no description"
        assert docs[table]["description"] and docs[table]["title"]
        missing = [c for c in columns if not docs[table]["columns"].get(c)]
        assert not missing, f"{table}: columns without a description: {missing}"


async def test_metadata_served_and_internal_tables_hidden(pipeline_db):
    ds = make_datasette(pipeline_db)
    info = await get_json(ds, "/telemetry.json")
    hidden = {t["name"] for t in info["tables"] if t["hidden"]}
    visible = {t["name"] for t in info["tables"] if not t["hidden"]}
    present = set(db_tables(pipeline_db))
    assert hidden == HIDDEN_TABLES & present
    assert {"sessions", "tool_calls", "turns", "metrics_daily", "raw_events"} <= visible
    page = await ds.client.get("/telemetry/tool_calls")
    assert page.status_code == 200
    docs = all_table_docs()["tool_calls"]
    assert docs["description"][:60] in page.text
    # Column descriptions are the metric definitions (HTML-escaped on the page).
    latency = docs["columns"]["latency_ms"].replace("'", "&#39;")
    assert latency[:50] in page.text


async def test_canned_queries_answer_on_real_data(pipeline_db):
    ds = make_datasette(pipeline_db)
    conn = sqlite3.connect(pipeline_db)
    session_id, expected = conn.execute(
        "SELECT s.session_id, (SELECT count(*) FROM turns t WHERE t.session_id = s.session_id)"
        " + (SELECT count(*) FROM tool_calls c WHERE c.session_id = s.session_id)"
        " FROM sessions s ORDER BY tool_calls DESC LIMIT 1").fetchone()
    for name in CANNED_QUERIES:
        data = await get_json(ds, f"/telemetry/{name}.json?_shape=objects&since=&"
                                  f"session_id={session_id}")
        assert data["ok"], name
        # The fixtures hold no MCP events; test_mcp_tracking checks mcp_decisions.
        assert data["rows"] or name == "mcp_decisions", f"{name}: no rows on the fixtures"
    timeline = (await get_json(
        ds, f"/telemetry/session_timeline.json?_shape=objects&session_id={session_id}"))["rows"]
    assert len(timeline) == expected
    times = [r["t"] for r in timeline if r["t"]]
    assert times == sorted(times)
    assert {r["kind"] for r in timeline} == {"prompt", "tool"}
    # Exact percentiles: the canned query's p95 equals a Python computation on the rows.
    slow = (await get_json(ds, "/telemetry/slowest_tools.json?_shape=objects&since="))["rows"]
    for row in slow[:5]:
        values = [r[0] for r in conn.execute(
            "SELECT latency_ms FROM tool_calls WHERE tool_name = ? AND latency_ms IS NOT NULL",
            (row["tool_name"],))]
        assert row["p95_ms"] == pytest.approx(percentile(values, 95), abs=0.051)
        assert row["timed_calls"] == len(values)
    cost = (await get_json(ds, "/telemetry/most_expensive_sessions.json?_shape=objects"))["rows"]
    assert cost[0]["cost_usd"] == pytest.approx(round(conn.execute(
        "SELECT max(cost_usd) FROM sessions").fetchone()[0], 4))
    conn.close()


async def test_canned_queries_show_the_read_apis_numbers(pipeline_db):
    """Datasette's SQL takes its rate expressions from ``analytics.metrics`` and its
    percentiles from the same function as the read API: the numbers cannot drift."""
    from blueplane_pipeline.read.connect import open_reader
    from blueplane_pipeline.read.periods import EVERYTHING
    from blueplane_pipeline.read.summary import aggregate, summary
    from blueplane_pipeline.read.tools import tool_performance

    def rounded(value, digits):
        """``value`` rounded for display as the canned SQL rounds it (SQLite rounds halves
        away from zero, Python to even: 267.25 -> 267.3 here, 267.2 in Python)."""
        return sqlite3.connect(":memory:").execute("SELECT round(?, ?)",
                                                   (value, digits)).fetchone()[0]

    ds = make_datasette(pipeline_db)
    conn = open_reader(pipeline_db)
    days = {r["key"]: r for r in aggregate(conn, EVERYTHING, group_by="day")}
    tools = {r["tool_name"]: r for r in tool_performance(conn, EVERYTHING)}
    overall = summary(conn, EVERYTHING)
    conn.close()
    by_day = (await get_json(ds, "/telemetry/acceptance_by_day.json?_shape=objects"))["rows"]
    assert sorted(r["day"] for r in by_day) == sorted(days)
    assert any(r["acceptance_rate"] is not None for r in by_day)
    for row in by_day:
        mine = days[row["day"]]
        assert (row["accepted"], row["rejected"]) == (mine["edits_accepted"],
                                                      mine["edits_rejected"])
        assert row["acceptance_rate"] == rounded(mine["acceptance_rate"], 4)
        assert row["user_modified_share"] == rounded(mine["user_modified_share"], 4)
    slow = (await get_json(ds, "/telemetry/slowest_tools.json?_shape=objects&since="))["rows"]
    assert slow
    for row in slow:
        mine = tools[row["tool_name"]]
        assert (row["calls"], row["max_ms"]) == (mine["calls"], mine["latency_max_ms"])
        assert [row["p50_ms"], row["p95_ms"], row["p99_ms"]] == [
            rounded(mine[k], 1) for k in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")]
    rate = await get_json(ds, "/telemetry.json?_shape=objects&sql=" + _q(_strip_optional(
        DASHBOARD_CHARTS["acceptance-overall"]["query"])))
    assert rate["rows"][0]["rate"] == f"{rounded(100 * overall['acceptance_rate'], 1)}%"


async def test_blueplane_event_decodes_raw_rows(pipeline_db):
    ds = make_datasette(pipeline_db)
    conn = sqlite3.connect(pipeline_db)
    stored = {e.seq: e.envelope for e in iter_events(conn, limit=3000)}
    conn.close()
    picks = sorted(stored)[:: max(1, len(stored) // 7)]
    sql = ("select seq, blueplane_event(seq) as e from raw_events where seq in ("
           + ",".join(map(str, picks)) + ") order by seq")
    data = await get_json(ds, "/telemetry.json?_shape=objects&sql=" + sql)
    assert [r["seq"] for r in data["rows"]] == picks
    for row in data["rows"]:
        assert json.loads(row["e"]) == stored[row["seq"]]
    missing = await get_json(ds, "/telemetry.json?_shape=objects&sql=select "
                                 "blueplane_event(-5) as e, blueplane_event('x') as f")
    assert missing["rows"] == [{"e": None, "f": None}]


async def test_dashboard_page_and_every_chart_query(pipeline_db):
    ds = make_datasette(pipeline_db)
    page = await ds.client.get(f"/-/dashboards/{DASHBOARD_SLUG}")
    assert page.status_code == 200
    assert "vega-lite.min.js" in page.text and "cdn" not in page.text.lower()
    for slug, chart in DASHBOARD_CHARTS.items():
        assert f"chart-{slug}" in page.text
        sql = _strip_optional(chart["query"])
        data = await get_json(ds, "/telemetry.json?_shape=objects&sql=" + _q(sql))
        assert data["rows"], f"chart {slug} has no data on the fixture db"
    conn = sqlite3.connect(pipeline_db)
    total = conn.execute("SELECT sum(cost_usd) FROM token_usage").fetchone()[0]
    conn.close()
    cost = await get_json(ds, "/telemetry.json?_shape=objects&sql="
                              + _q(_strip_optional(DASHBOARD_CHARTS["cost-total"]["query"])))
    assert cost["rows"][0]["cost"] == f"{total:.2f}"


async def test_readers_write_nothing(pipeline_db):
    before = file_digest(pipeline_db)
    ds = make_datasette(pipeline_db)
    for path in ["/telemetry.json", "/telemetry/sessions.json", f"/-/dashboards/{DASHBOARD_SLUG}",
                 "/telemetry/acceptance_by_day.json", "/telemetry/raw_events.json?_facet=kind"]:
        assert (await ds.client.get(path)).status_code == 200
    write = await ds.client.get("/telemetry.json?sql=" + _q("delete from sessions"))
    assert write.status_code == 400
    for db in ds.databases.values():
        db.close()
    assert file_digest(pipeline_db) == before


async def test_empty_database_answers_everywhere(tmp_path):
    db = tmp_path / "telemetry.db"
    open_db(db).close()
    ds = make_datasette(db)
    assert (await ds.client.get(f"/-/dashboards/{DASHBOARD_SLUG}")).status_code == 200
    for name in CANNED_QUERIES:
        data = await get_json(ds, f"/telemetry/{name}.json?_shape=objects&since=&session_id=x")
        assert data["ok"] and data["rows"] == []
    for chart in DASHBOARD_CHARTS.values():
        data = await get_json(ds, "/telemetry.json?_shape=objects&sql="
                                  + _q(_strip_optional(chart["query"])))
        assert data["ok"]


async def test_older_schema_database(tmp_path):
    """A file that only has the raw-event tables (schema v1): pages still serve, the
    analytics queries fail with Datasette's own message, ``serve`` warns."""
    from blueplane_cli.serve_cmd import schema_note

    db = tmp_path / "telemetry.db"
    make_schema_v1_db(db)
    ds = make_datasette(db)
    assert (await ds.client.get("/telemetry")).status_code == 200
    assert (await ds.client.get(f"/-/dashboards/{DASHBOARD_SLUG}")).status_code == 200
    failed = await ds.client.get("/telemetry/acceptance_by_day.json")
    assert failed.status_code == 400
    assert "no such table: metrics_daily" in failed.json()["error"]
    note = schema_note(db)
    assert note and "schema version 1" in note and "blueplane ingest" in note


def _strip_optional(sql: str) -> str:
    """Drop datasette-dashboards' optional ``[[ ... ]]`` clauses (no filter set)."""
    import re

    return re.sub(r"\[\[.*?\]\]", "", sql)


def _q(sql: str) -> str:
    from urllib.parse import quote

    return quote(sql)


def test_docs_list_every_canned_query():
    text = (Path(__file__).resolve().parents[2] / "docs" / "datasette.md").read_text()
    for name in CANNED_QUERIES:
        assert f"| `{name}` |" in text, name
    assert f"/-/dashboards/{DASHBOARD_SLUG}" in text
