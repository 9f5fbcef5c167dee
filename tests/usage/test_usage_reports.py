"""Reports against ccusage 20.0.24's own JSON over the same files: per day, week, month,
session and 5-hour block, the four token counts exactly and cost within 0.5 %.

Each report is checked on both ways rows reach it: the ``token_usage`` table (filled by
``store.refresh`` on a real SQLite file) and the in-memory path the CLI takes before the
table is built. The CLI is checked end to end on the JSON it prints.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.core import config
from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.core.times import parse_iso_ms as parse_ts_ms
from blueplane_pipeline.read.usage import query_rows, rows_from_events
from blueplane_pipeline.sources.claude_code.usage import SYNTHETIC_MODEL
from blueplane_pipeline.storage.db import connect, open_db
from blueplane_pipeline.usage import reports
from blueplane_pipeline.usage.reports import UsageRow, period_key
from blueplane_pipeline.usage.store import refresh
from blueplane_pipeline.usage.timeframe import TimeframeError, day_bounds, resolve_timezone
from tests._usage import (
    TREES,
    USAGE_TREE,
    ccusage,
    close,
    store,
    tokens,
    transcript_envelopes,
    transcript_lines,
)

UTC_ZONE = ZoneInfo("UTC")
PERIOD_KEY = {"daily": "date", "weekly": "week", "monthly": "month"}


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    """One telemetry.db per tree: events stored, ``token_usage`` refreshed."""
    out = {}
    for name, tree in TREES.items():
        path = tmp_path_factory.mktemp(f"usage-{name}") / "telemetry.db"
        store(path, transcript_envelopes(tree))
        conn = open_db(path)
        refresh(conn, load_price_table())
        out[name] = conn
    yield out
    for conn in out.values():
        conn.close()


def rows_for(dbs, tree: str, grain: str, origin: str) -> list[UsageRow]:
    conn = dbs[tree]
    if origin == "table":
        return query_rows(conn, grain, tz=UTC_ZONE)
    return rows_from_events(conn, load_price_table())


def assert_summary(ours: dict, theirs: dict) -> None:
    label = theirs.get("date") or theirs.get("week") or theirs.get("month") or theirs.get(
        "sessionId")
    assert set(ours) == set(theirs), label  # ccusage's JSON shape, field for field
    assert tokens(ours) == tokens(theirs), label
    assert ours["totalTokens"] == theirs["totalTokens"], label
    assert close(ours["totalCost"], theirs["totalCost"]), label
    assert ours["modelsUsed"] == theirs["modelsUsed"], label
    assert [b["modelName"] for b in ours["modelBreakdowns"]] == [
        b["modelName"] for b in theirs["modelBreakdowns"]], label
    for mine, other in zip(ours["modelBreakdowns"], theirs["modelBreakdowns"], strict=True):
        assert set(mine) == set(other)
        assert tokens(mine) == tokens(other), (label, other["modelName"])
        assert close(mine["cost"], other["cost"]), (label, other["modelName"])


def assert_totals(ours: dict, theirs: dict) -> None:
    assert set(ours) == set(theirs)
    assert ours.get("unpricedModels") == theirs.get("unpricedModels")
    assert tokens(ours) == tokens(theirs)
    assert ours["totalTokens"] == theirs["totalTokens"]
    assert close(ours["totalCost"], theirs["totalCost"])


def requestless_days(tree) -> set[str]:
    """UTC days holding usage lines with no ``requestId`` key (Claude Code before 1.0.x
    wrote none). ccusage 20.0.24's daily report does not merge such a message's
    per-content-block lines (its session, weekly and monthly reports do): there it counts
    the message once per line. We count it once everywhere."""
    return {line["timestamp"][:10] for _, _, line in transcript_lines(tree)
            if isinstance(line.get("message"), dict) and "usage" in line["message"]
            and "requestId" not in line and line.get("type") == "assistant"
            and line["message"].get("model") != SYNTHETIC_MODEL}


@pytest.mark.parametrize(("origin", "grain"), [("table", "day"), ("table", "quarter"),
                                               ("events", "message")])
@pytest.mark.parametrize("tree", sorted(TREES))
@pytest.mark.parametrize("period", reports.PERIODS)
def test_period_reports_equal_ccusage(dbs, tree, period, origin, grain):
    expected = ccusage(TREES[tree], period)
    ours = reports.period_report(rows_for(dbs, tree, grain, origin), period, UTC_ZONE)
    key = PERIOD_KEY[period]
    # only ccusage's daily loader counts requestless messages once per line
    diverging = requestless_days(TREES[tree]) if period == "daily" else set()
    assert [p[key] for p in ours[period]] == [p[key] for p in expected[period]]
    compared = 0
    for mine, theirs in zip(ours[period], expected[period], strict=True):
        if theirs[key] not in diverging:
            assert_summary(mine, theirs)
            compared += 1
    assert compared >= len(expected[period]) - 1
    # grand totals: its session (and weekly, monthly) report merges those lines as we do
    assert_totals(ours["totals"], ccusage(TREES[tree], "session")["totals"])


def test_requestless_messages_count_once_like_ccusage_sessions(dbs):
    days = requestless_days(USAGE_TREE)
    assert days == {"2025-06-12"}  # the legacy project's day, alone on it
    sessions = [s for s in ccusage(USAGE_TREE, "session")["sessions"]
                if s["firstActivity"].startswith("2025-06-12")]
    ours = reports.period_report(query_rows(dbs["built"], "quarter"), "daily", UTC_ZONE)
    day = next(d for d in ours["daily"] if d["date"] == "2025-06-12")
    assert len(sessions) == 1
    assert tokens(day) == tokens(sessions[0])
    assert close(day["totalCost"], sessions[0]["totalCost"])
    # ccusage's daily report counts every content-block line of those messages
    theirs = next(d for d in ccusage(USAGE_TREE, "daily")["daily"] if d["date"] == "2025-06-12")
    extra = [0, 0, 0, 0]
    per_message: dict[str, list[tuple[int, ...]]] = {}
    for _, _, line in transcript_lines(USAGE_TREE):
        if (line.get("type") == "assistant" and "requestId" not in line
                and line["message"].get("model") != SYNTHETIC_MODEL):
            u = line["message"]["usage"]
            per_message.setdefault(line["message"]["id"], []).append(
                (u["input_tokens"], u["output_tokens"], u["cache_creation_input_tokens"],
                 u["cache_read_input_tokens"]))
    for copies in per_message.values():
        kept = max(copies, key=sum)
        for c in copies:
            extra = [e + v for e, v in zip(extra, c, strict=True)]
        extra = [e - v for e, v in zip(extra, kept, strict=True)]
    assert tokens(theirs) == tuple(o + e for o, e in zip(tokens(day), extra, strict=True))


def test_days_are_cut_in_the_requested_timezone(dbs):
    zone = "America/New_York"
    expected = json.loads((USAGE_TREE / f"ccusage-20.0.24-daily-{zone.replace('/', '_')}.json")
                          .read_text())
    ours = reports.period_report(query_rows(dbs["built"], "day", tz=ZoneInfo(zone)), "daily",
                                 ZoneInfo(zone))
    assert [d["date"] for d in ours["daily"]] == [d["date"] for d in expected["daily"]]
    diverging = requestless_days(USAGE_TREE)  # mid-afternoon UTC: the same day in New York
    for mine, theirs in zip(ours["daily"], expected["daily"], strict=True):
        if theirs["date"] not in diverging:
            assert_summary(mine, theirs)
    assert "2025-10-06" not in {d["date"] for d in ours["daily"]}  # 02:00 UTC is Oct 5 there


def synthetic_usage(db, start: str, end: str, every_s: int) -> None:
    """A message every ``every_s`` seconds from ``start`` to ``end`` in ``token_usage``."""
    conn = open_db(db)
    t, stop, rows = parse_ts_ms(start), parse_ts_ms(end), []
    while t < stop:
        n = len(rows)
        model = ("claude-sonnet-4-5", "claude-opus-4-1")[n % 3 == 0]
        rows.append((f"k{n}", f"m{n}", f"r{n}", f"s{n // 40}", "-p", model, model,
                     datetime.fromtimestamp(t / 1000, UTC).isoformat(), t, n % 7, n % 11,
                     n % 13, n % 13, 0, n % 17, n % 7 + n % 11 + n % 13 + n % 17,
                     (n % 5) * 0.001, "computed", 0, "f.jsonl", n, n))
        t += every_s * 1000
    conn.executemany(
        "INSERT INTO token_usage (dedup_key, message_id, request_id, session_id, project, model,"
        " price_model, ts, ts_ms, input_tokens, output_tokens, cache_creation_tokens,"
        " cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, total_tokens,"
        " cost_usd, cost_source, is_sidechain, source_file, source_line, raw_seq)"
        " VALUES (" + ", ".join("?" * 22) + ")", rows)
    conn.close()


# Daylight-saving changes at 02:00/03:00 (Paris), at midnight (São Paulo, 2018), by 30
# minutes (Lord Howe), at :45 offsets (Chatham), none (Kolkata), none at all (UTC).
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Sao_Paulo",
                                  "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata"])
def test_day_rows_cut_local_days_like_quarter_rows(tmp_path, zone):
    """Summing per local day in SQL (what the CLI does) gives the reports summing per quarter
    hour gives, across every kind of offset change."""
    synthetic_usage(tmp_path / "t.db", "2018-09-25T00:00:00Z", "2019-04-20T00:00:00Z", 1873)
    conn = connect(tmp_path / "t.db", readonly=True)
    tz = ZoneInfo(zone)
    by_day, by_quarter = query_rows(conn, "day", tz=tz), query_rows(conn, "quarter")
    assert len(by_day) < len(by_quarter) / 10
    since, until = day_bounds("2018-10-28", "2019-02-17", tz)
    windowed = query_rows(conn, "day", since_ms=since, until_ms=until, tz=tz)
    cases = [(by_day, by_quarter),
             (windowed, query_rows(conn, "quarter", since_ms=since, until_ms=until))]
    for period in reports.PERIODS:
        for mine, theirs in cases:
            # Costs are summed in another order: equal up to float rounding.
            assert rounded(reports.period_report(mine, period, tz)) == rounded(
                reports.period_report(theirs, period, tz))
    conn.close()


def rounded(value):
    """``value`` with every float rounded to 9 decimals (and breakdowns in name order)."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        items = [rounded(v) for v in value]
        return sorted(items, key=lambda v: v["modelName"]) if items and isinstance(
            items[0], dict) and "modelName" in items[0] else items
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("origin", ["table", "events"])
@pytest.mark.parametrize("tree", sorted(TREES))
def test_session_report_equals_ccusage(dbs, tree, origin):
    expected = ccusage(TREES[tree], "session")
    ours = reports.session_report(rows_for(dbs, tree, "session", origin))
    assert [s["sessionId"] for s in ours["sessions"]] == [
        s["sessionId"] for s in expected["sessions"]]
    for mine, theirs in zip(ours["sessions"], expected["sessions"], strict=True):
        assert_summary(mine, theirs)
        for field in ("projectPath", "firstActivity", "lastActivity"):
            assert mine[field] == theirs[field], (theirs["sessionId"], field)
    assert_totals(ours["totals"], expected["totals"])


def synthetic_lines_between(tree, start: str, end: str) -> int:
    """ccusage counts ``<synthetic>`` API-error lines as block entries; we do not count
    them as usage. Counted straight from the files, not by our code."""
    lo, hi = parse_ts_ms(start), parse_ts_ms(end)
    return sum(1 for _, _, line in transcript_lines(tree)
               if isinstance(line.get("message"), dict)
               and line["message"].get("model") == SYNTHETIC_MODEL
               and lo <= parse_ts_ms(line.get("timestamp")) < hi)


@pytest.mark.parametrize("origin", ["table", "events"])
@pytest.mark.parametrize("tree", sorted(TREES))
def test_blocks_equal_ccusage(dbs, tree, origin):
    expected = ccusage(TREES[tree], "blocks")["blocks"]
    ours = reports.blocks_report(rows_for(dbs, tree, "message", origin),
                                 now_ms=int(time.time() * 1000))["blocks"]
    same = ("id", "startTime", "endTime", "actualEndTime", "isGap", "isActive", "models",
            "tokenCounts", "totalTokens", "burnRate", "projection")
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        assert set(mine) == set(theirs)
        assert {k: mine[k] for k in same} == {k: theirs[k] for k in same}
        assert close(mine["costUSD"], theirs["costUSD"]), theirs["id"]
        skipped = 0 if theirs["isGap"] else synthetic_lines_between(
            TREES[tree], theirs["startTime"], theirs["endTime"])
        assert mine["entries"] == theirs["entries"] - skipped, theirs["id"]


def test_an_active_block_has_a_burn_rate_and_projection():
    t0 = parse_ts_ms("2025-10-01T10:05:00Z")
    rows = [UsageRow(t0 + i * 600_000, t0 + i * 600_000, "s", "p", "m", 10, 20, 30, 40, 0.5)
            for i in range(4)]
    now = t0 + 40 * 60_000
    block = reports.blocks_report(rows, now_ms=now)["blocks"][0]
    assert block["isActive"] and block["entries"] == 4
    assert block["burnRate"]["tokensPerMinute"] == pytest.approx(400 / 30)
    assert block["burnRate"]["costPerHour"] == pytest.approx(2.0 / 30 * 60)
    # the block opened at 10:00 and ends at 15:00: 4h15m of projected pace remain
    assert block["projection"]["remainingMinutes"] == 255
    assert block["projection"]["totalTokens"] == round(400 + 400 / 30 * 255)


def test_week_keys_follow_the_start_day():
    day = datetime(2025, 10, 8, tzinfo=UTC).date()  # a Wednesday
    assert period_key(day, "weekly") == "2025-10-05"  # Sunday
    assert period_key(day, "weekly", week_start=0) == "2025-10-06"  # Monday
    assert period_key(day, "monthly") == "2025-10"


def test_date_filters_are_local_days_and_checked():
    paris = ZoneInfo("Europe/Paris")
    since, until = day_bounds("20251002", "2025-10-03", paris)
    assert since == parse_ts_ms("2025-10-01T22:00:00Z")
    assert until == parse_ts_ms("2025-10-03T22:00:00Z")
    with pytest.raises(TimeframeError):
        day_bounds("2025-13-01", None, paris)
    with pytest.raises(TimeframeError):
        day_bounds("20251005", "20251001", paris)
    with pytest.raises(TimeframeError):
        resolve_timezone("Mars/Olympus")


# --- the command line ----------------------------------------------------------------------

def run_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["usage", *args, "--json", "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_reports_before_and_after_the_table_is_built(bp_home):
    store(config.db_path(), transcript_envelopes(USAGE_TREE))
    for built in (False, True):
        if built:
            conn = open_db(config.db_path())
            refresh(conn, load_price_table())
            conn.close()
        daily = run_json("daily")
        expected = ccusage(USAGE_TREE, "daily")
        assert [d["date"] for d in daily["daily"]] == [d["date"] for d in expected["daily"]]
        for mine, theirs in zip(daily["daily"], expected["daily"], strict=True):
            if theirs["date"] not in requestless_days(USAGE_TREE):
                assert_summary(mine, theirs)
        flagged = {b["modelName"] for d in daily["daily"] for b in d["modelBreakdowns"]
                   if b.get("missingPricing")}
        assert flagged == {"claude-experimental-zeta"}
        session = run_json("session")
        assert [s["sessionId"] for s in session["sessions"]] == [
            s["sessionId"] for s in ccusage(USAGE_TREE, "session")["sessions"]]


def test_cli_filters_by_date_and_project(bp_home):
    store(config.db_path(), transcript_envelopes(USAGE_TREE))
    conn = open_db(config.db_path())
    refresh(conn, load_price_table())
    conn.close()
    expected = ccusage(USAGE_TREE, "daily")["daily"]
    window = run_json("daily", "--since", "20251002", "--until", "2025-10-08")
    assert [d["date"] for d in window["daily"]] == [
        d["date"] for d in expected if "2025-10-02" <= d["date"] <= "2025-10-08"]
    webapp = run_json("session", "--project", "-home-dev-webapp")
    theirs = [s for s in ccusage(USAGE_TREE, "session")["sessions"]
              if s["projectPath"] == "-home-dev-webapp"]
    assert [s["sessionId"] for s in webapp["sessions"]] == [s["sessionId"] for s in theirs]
    for mine, other in zip(webapp["sessions"], theirs, strict=True):
        assert_summary(mine, other)
    table = CliRunner().invoke(cli, ["usage", "monthly", "--breakdown", "--timezone", "UTC"],
                               env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "2025-10" in table.output and "└ sonnet-4-5" in table.output


def test_cli_says_so_when_there_is_no_data(bp_home):
    result = CliRunner().invoke(cli, ["usage", "daily"])
    assert result.exit_code == 0 and result.output.startswith("No token usage yet")
    assert run_json("blocks") == {"blocks": []}
    open_db(config.db_path()).close()  # an empty database: still "no data"
    assert run_json("weekly")["weekly"] == []
    bad = CliRunner().invoke(cli, ["usage", "daily", "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 1 and bad.output.count("\n") == 1


def test_cli_report_path_imports_neither_dagster_nor_pandas(bp_home):
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from blueplane_cli.main import cli;"
            "CliRunner().invoke(cli, ['usage', 'daily', '--json']);"
            "print(sorted(m for m in ('dagster', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    assert connect  # readers open the database read-only through storage.db.connect


def test_cli_fails_in_one_line_on_a_broken_database_or_price_list(bp_home, tmp_path):
    config.db_path().write_bytes(b"this is not sqlite" * 100)
    result = CliRunner().invoke(cli, ["usage", "daily"])
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    assert result.output.count("\n") == 1
    config.db_path().unlink()
    store(config.db_path(), transcript_envelopes(USAGE_TREE))  # events only: priced live
    broken = config.home() / "pricing" / "model_prices.json"
    broken.parent.mkdir()
    broken.write_text("{}")
    result = CliRunner().invoke(cli, ["usage", "session", "--json"])
    assert result.exit_code == 1 and "pricing reset" in result.output


def test_cli_session_window_cuts_sessions_like_ccusage(bp_home):
    """``--since/--until`` filter messages, not whole sessions: a session crossing the
    window's edge shows only its part inside (as ccusage shows it)."""
    store(config.db_path(), transcript_envelopes(USAGE_TREE))
    conn = open_db(config.db_path())
    refresh(conn, load_price_table())
    conn.close()
    ours = run_json("session", "--since", "20251002", "--until", "20251005")
    expected = json.loads((USAGE_TREE / "ccusage-20.0.24-session-20251002-20251005.json")
                          .read_text())
    assert [s["sessionId"] for s in ours["sessions"]] == [
        s["sessionId"] for s in expected["sessions"]]
    for mine, theirs in zip(ours["sessions"], expected["sessions"], strict=True):
        assert_summary(mine, theirs)
        assert (mine["firstActivity"], mine["lastActivity"]) == (
            theirs["firstActivity"], theirs["lastActivity"])
    assert_totals(ours["totals"], expected["totals"])
