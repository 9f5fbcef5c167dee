"""The read API (``blueplane_pipeline.read``): windows, the two ways of answering a window
(daily rollup vs row tables) agreeing, trends, session lookup, the errors it raises."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.gen_analytics import generate
from blueplane_pipeline.analytics.metrics import daily_rates
from blueplane_pipeline.core.times import iso_dt
from blueplane_pipeline.read.connect import BadRequest, NoData, open_reader, reading
from blueplane_pipeline.read.filters import Filters
from blueplane_pipeline.read.latency import LATENCIES, latency_percentiles
from blueplane_pipeline.read.periods import Window, parse_period, parse_when
from blueplane_pipeline.read.sessions import resolve_session
from blueplane_pipeline.read.summary import COUNTERS, aggregate, compare, summary
from tests._telemetry_db import build_from_fixtures, temp_home

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def test_rolling_hour_windows():
    cur, prev = parse_period("24h", NOW)
    assert (cur.start, cur.end) == ("2026-03-09T15:30:00.000Z", "2026-03-10T15:30:00.000Z")
    assert (prev.start, prev.end) == ("2026-03-08T15:30:00.000Z", cur.start)
    assert not cur.whole_days


def test_day_windows_are_whole_utc_days_up_to_today():
    cur, prev = parse_period("7d", NOW)
    assert cur.whole_days and prev.whole_days
    assert (cur.start_day, cur.end_day) == ("2026-03-04", "2026-03-11")  # end exclusive
    assert (prev.start_day, prev.end_day) == ("2026-02-25", "2026-03-04")
    assert parse_period("all", NOW) == (Window("all", None, None, True), None)


@pytest.mark.parametrize("bad", ["", "0d", "7w", "d7", "-1h", "soon"])
def test_bad_periods(bad):
    with pytest.raises(BadRequest, match="unknown period"):
        parse_period(bad, NOW)


def test_dates():
    assert parse_when("2026-03-01") == "2026-03-01T00:00:00.000Z"
    assert parse_when("2026-03-01", end_of_day=True) == "2026-03-02T00:00:00.000Z"
    assert parse_when("2026-03-01T10:00:00+02:00") == "2026-03-01T08:00:00.000Z"
    with pytest.raises(BadRequest, match="not a date"):
        parse_when("yesterday")


def test_percentiles_interpolate_between_ranks():
    got = latency_percentiles([40, 10, 30, 20])
    # rank = q·(n−1): p50 -> 1.5 -> 25; p95 -> 2.85 -> 38.5; p99 -> 2.97 -> 39.7
    assert got == {"latency_p50_ms": 25, "latency_p95_ms": 38.5, "latency_p99_ms": 39.7}
    assert latency_percentiles([]) == dict.fromkeys(LATENCIES)


def test_rates_come_from_summed_counts_not_averaged_rates():
    row = daily_rates({"tool_success": 90, "tool_errors": 10, "tool_calls": 104,
                                "tool_interrupted": 2, "edits_accepted": 3,
                                "edits_rejected": 1, "edits_user_modified": 0})
    assert row["error_rate"] == 0.1
    assert row["interruption_rate"] == pytest.approx(2 / 104)
    assert row["acceptance_rate"] == 0.75 and row["user_modified_share"] == 0
    assert daily_rates({})["acceptance_rate"] is None


def test_trend_direction_says_which_way_is_good():
    cmp = compare(
        {"error_rate": 0.2, "acceptance_rate": 0.9, "latency_p95_ms": 100.0, "cost_usd": 2.0,
         "sessions": 5},
        {"error_rate": 0.1, "acceptance_rate": 0.8, "latency_p95_ms": 200.0, "cost_usd": 1.0,
         "sessions": 0})
    assert cmp["error_rate"]["change"] == pytest.approx(1.0)
    assert cmp["error_rate"]["good"] is False
    assert cmp["acceptance_rate"]["good"] is True
    assert cmp["acceptance_rate"]["delta"] == pytest.approx(0.1)
    assert cmp["latency_p95_ms"]["good"] is True
    assert cmp["cost_usd"]["good"] is None  # spending more is neither good nor bad
    assert cmp["sessions"]["change"] is None  # nothing to compare with


def _counters(row: dict) -> dict:
    # cost_usd is rounded to 6 decimals per rollup row: compare to the cent fraction.
    return {k: round(row[k], 4) for k in COUNTERS}


@pytest.fixture(scope="module")
def pipeline_db() -> Path:
    with temp_home() as home:
        yield build_from_fixtures(home)


def test_rollup_and_row_tables_agree_on_whole_days(pipeline_db):
    """The fast path (metrics_daily) and the exact path (row tables) count the same things:
    over a window of whole days both must give identical counters and percentiles."""
    conn = open_reader(pipeline_db)
    first, last = conn.execute("SELECT min(day), max(day) FROM metrics_daily").fetchone()
    start = f"{first}T00:00:00.000Z"
    end = datetime.fromisoformat(f"{last}T00:00:00+00:00").timestamp() + 86_400
    end_iso = iso_dt(datetime.fromtimestamp(end, UTC))
    by_day = Window("days", start, end_iso, True)
    by_time = Window("times", start, end_iso, False)
    for group in (None, "day", "model", "project"):
        fast = aggregate(conn, by_day, group_by=group)
        exact = aggregate(conn, by_time, group_by=group)
        assert [r["key"] for r in fast] == [r["key"] for r in exact], group
        for a, b in zip(fast, exact, strict=True):
            assert _counters(a) == _counters(b), (group, a["key"])
            assert [a[k] for k in LATENCIES] == [b[k] for k in LATENCIES]
    assert summary(conn, by_day)["tool_calls"] > 0
    conn.close()


def test_rollup_and_row_tables_agree_on_generated_history(tmp_path):
    generate(tmp_path / "t.db", sessions=300, days=20, seed=3, now=NOW)
    conn = open_reader(tmp_path / "t.db")
    week, _ = parse_period("7d", NOW)
    exact = Window("times", week.start, week.end, False)
    busiest = conn.execute("SELECT project_name FROM sessions WHERE platform = 'cursor'"
                           " AND day >= ? GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
                           (week.start_day,)).fetchone()[0]
    for platform in (None, "cursor"):
        filters = Filters(platform=platform, project=busiest)
        a = summary(conn, week, filters)
        b = summary(conn, exact, filters)
        assert a["tool_calls"] > 0
        assert _counters(a) == _counters(b)
    conn.close()


def test_hour_windows_count_rows_by_time(tmp_path):
    generate(tmp_path / "t.db", sessions=200, days=3, seed=5, now=NOW)
    conn = open_reader(tmp_path / "t.db")
    cur, _ = parse_period("6h", NOW)
    expected = conn.execute(
        "SELECT count(*) FROM tool_calls WHERE coalesce(started_at, ended_at) >= ?"
        " AND coalesce(started_at, ended_at) < ?", (cur.start, cur.end)).fetchone()[0]
    assert summary(conn, cur)["tool_calls"] == expected
    conn.close()


@pytest.mark.parametrize("sessions", [50, 2100])  # above 2000 ids suggestions use a pool
def test_resolve_session_by_prefix_and_suggestions(tmp_path, sessions):
    generate(tmp_path / "t.db", sessions=sessions, days=3, seed=9, now=NOW)
    conn = open_reader(tmp_path / "t.db")
    sid = conn.execute("SELECT session_id FROM sessions ORDER BY session_id").fetchone()[0]
    assert resolve_session(conn, sid) == (sid, [])
    assert resolve_session(conn, sid[:8]) == (sid, [])
    resolved, close = resolve_session(conn, sid[:-2] + "zz")
    assert resolved is None and sid in close
    conn.close()


def test_open_reader_without_database(tmp_path):
    with pytest.raises(NoData, match="no database at"):
        open_reader(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


# ---------------------------------------------------------------- the one error adapter


class Failed(Exception):
    """What the test's front end raises instead of exiting."""


def fail(message: str):
    raise Failed(message)


def failure(path: Path, ask) -> str:
    """The message ``reading`` hands the front end when ``ask(conn)`` runs on ``path``."""
    with pytest.raises(Failed) as caught, reading(path, fail) as conn:
        ask(conn)
    return str(caught.value)


def test_reading_turns_every_read_error_into_one_message(tmp_path):
    from tests._telemetry_db import make_schema_v1_db

    db = tmp_path / "telemetry.db"
    assert failure(db, lambda conn: None).startswith(f"no database at {db} yet")
    assert not db.exists()
    make_schema_v1_db(db)
    assert "table metrics_daily, tool_calls not built yet (database schema v1)" in failure(
        db, lambda conn: summary(conn, parse_period("7d", NOW)[0]))
    assert failure(db, lambda conn: parse_period("soon")).startswith("unknown period 'soon'")
    unreadable = failure(db, lambda conn: conn.execute("SELECT nope FROM raw_events"))
    assert unreadable.startswith(f"cannot read {db} (no such column: nope; schema v1)")
    assert "blueplane refresh" in unreadable
    # Anything else is not the adapter's business: it propagates unchanged.
    with pytest.raises(KeyError), reading(db, fail):
        raise KeyError("bug")


def test_cli_and_mcp_say_the_same_thing(bp_home, tmp_path):
    """Both front ends go through the one adapter: the CLI's ``Error:`` line and the MCP
    tool error carry the same message."""
    import anyio
    from click.testing import CliRunner
    from mcp import Client

    from blueplane_cli.main import cli
    from mcp_server.server import build_server
    from tests._telemetry_db import make_schema_v1_db

    async def tool_error(args: dict) -> str:
        async with Client(build_server()) as client:
            result = await client.call_tool("get_tool_performance", args)
        assert result.is_error
        return result.content[0].text

    def cli_error(*args: str) -> str:
        result = CliRunner().invoke(cli, ["tools", *args])
        assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
        return result.output.removeprefix("Error: ").strip()

    seen = {cli_error(): anyio.run(tool_error, {})}
    make_schema_v1_db(bp_home / "telemetry.db")
    seen[cli_error("--period", "soon")] = anyio.run(tool_error, {"period": "soon"})
    seen[cli_error()] = anyio.run(tool_error, {})
    # A table from another schema: the query itself fails (sqlite3.OperationalError).
    conn = sqlite3.connect(bp_home / "telemetry.db")
    conn.execute("CREATE TABLE tool_calls (day TEXT)")
    conn.commit()
    conn.close()
    seen[cli_error()] = anyio.run(tool_error, {})
    assert len(seen) == 4
    assert "no such column" in list(seen)[-1] and "schema v1" in list(seen)[-1]
    for line, text in seen.items():  # the SDK prefixes "Error executing tool <name>: "
        assert text == f"Error executing tool get_tool_performance: {line}"
