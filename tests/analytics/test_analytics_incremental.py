"""Incremental refresh == full rebuild, with events arriving late and out of order, and
token_usage (another asset) sometimes lagging behind."""

from __future__ import annotations

import json
import random

import pytest
from analytics_fixtures import hook_envelope, rows, spaced, store, transcript_envelopes
from test_analytics_built_fixtures import modern_hook_session

from blueplane_pipeline.analytics import integrity, session_refresh
from blueplane_pipeline.analytics.refresh import refresh_all
from blueplane_pipeline.core.envelope import dumps
from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.storage.analytics_docs import TABLE_DOCS
from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise
from blueplane_pipeline.usage.store import refresh as refresh_token_usage
from tests.conftest import CLAUDE_HOME, HOOK_PAYLOADS

TABLES = ["sessions", "tool_calls", "turns", "file_edits", "metrics_daily", "tool_metrics",
          "insights"]
# ccusage 20.0.24 over claude_home (fixtures README): the token totals token_usage must give
CCUSAGE = {"input_tokens": 1711, "output_tokens": 78687, "cache_creation_tokens": 482714,
           "cache_read_tokens": 10428883}


def all_envelopes() -> list[dict]:
    envs = [e for p in sorted(CLAUDE_HOME.glob("projects/*/*.jsonl"))
            for e in transcript_envelopes(p)]
    logs = sorted(HOOK_PAYLOADS.glob("*/*/logs/*.json"))
    payloads = [p for path in logs for p in json.loads(path.read_text())]
    envs += [hook_envelope(p, t) for p, t in
             zip(payloads, spaced("2025-09-08T02:24:39.000Z", len(payloads)), strict=True)]
    return envs + modern_hook_session()


def snapshot(conn) -> dict[str, list[tuple]]:
    out = {}
    for table in TABLES:
        cols = ", ".join(TABLE_DOCS[table]["columns"])
        out[table] = conn.execute(f"SELECT {cols} FROM {table} ORDER BY {cols}").fetchall()
    return out


@pytest.mark.parametrize("batch", [1000, 2])
def test_incremental_equals_full_rebuild(tmp_path, monkeypatch, batch):
    # batch=2: sessions are built and written a few at a time while events stream by
    monkeypatch.setattr(session_refresh, "WRITE_BATCH_SESSIONS", batch)
    envs = all_envelopes()
    random.Random(4).shuffle(envs)  # late and out-of-order arrival
    conn = store(tmp_path / "t.db", [])
    writer, prices = RawEventWriter(conn), load_price_table()
    cuts = [0, 40, 300, 301, 700, 1000, len(envs)]
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        writer.write([normalise(dumps(e)) for e in envs[a:b]])
        if i % 2 == 0:  # token_usage sometimes runs after the analytics, sometimes before
            refresh_token_usage(conn, prices)
        stats = refresh_all(conn)
        assert stats.sessions.new_events == b - a
    refresh_token_usage(conn, prices)
    refresh_all(conn)
    incremental = snapshot(conn)
    assert len(incremental["tool_calls"]) > 300 and incremental["insights"]

    stats = refresh_all(conn, full=True)
    assert stats.sessions.full_rebuild and stats.sessions.new_events == len(envs)
    assert snapshot(conn) == incremental

    for rule in (integrity.no_negative_latency, integrity.tool_call_sessions_exist,
                 integrity.session_counts_match_rows, integrity.metric_sums_match_rows,
                 integrity.tokens_match_token_usage):
        passed, details = rule(conn)
        assert passed, (rule.__name__, details)
    totals = rows(conn, "SELECT " + ", ".join(f"sum({c}) AS {c}" for c in CCUSAGE) +
                  " FROM metrics_daily")[0]
    assert totals == CCUSAGE


def test_unchanged_database_refresh_reads_nothing(tmp_path):
    conn = store(tmp_path / "t.db", all_envelopes())
    refresh_all(conn)
    before = snapshot(conn)
    stats = refresh_all(conn)
    assert stats.sessions.new_events == 0
    # only sessions with pending calls are re-read (the built session has one)
    assert stats.sessions.sessions_rebuilt == 1
    assert snapshot(conn) == before


def test_a_late_event_corrects_an_old_session_and_its_day(tmp_path):
    """The Doctacon hooks arrive after its transcript was analysed: still 17 calls, and the
    day's rollup is recomputed from the corrected rows."""
    doctacon = next(CLAUDE_HOME.glob("projects/*/38cc65a3-*.jsonl"))
    conn = store(tmp_path / "t.db", transcript_envelopes(doctacon))
    refresh_all(conn)
    day_before = rows(conn, "SELECT * FROM metrics_daily")
    logs = next(HOOK_PAYLOADS.glob("Doctacon*/*/logs"))
    payloads = [p for n in ("pre_tool_use", "post_tool_use")
                for p in json.loads((logs / f"{n}.json").read_text())]
    late = [hook_envelope(p, t) for p, t in
            zip(payloads, spaced("2025-09-08T02:25:00.000Z", len(payloads)), strict=True)]
    RawEventWriter(conn).write([normalise(dumps(e)) for e in late])
    stats = refresh_all(conn)
    assert stats.sessions.sessions_rebuilt == 1 and stats.rollups.days == 1
    assert rows(conn, "SELECT count(*) AS n FROM tool_calls")[0]["n"] == 17
    assert {r["sources"] for r in rows(conn, "SELECT sources FROM tool_calls")} == \
        {"hook+transcript"}
    day_after = rows(conn, "SELECT * FROM metrics_daily")
    assert len(day_after) == len(day_before) == 1
    assert day_after[0]["tool_calls"] == day_before[0]["tool_calls"] == 17
    # the hooks bring PreToolUse→PostToolUse latencies: the percentiles changed
    assert day_after[0]["latency_p50_ms"] != day_before[0]["latency_p50_ms"]
