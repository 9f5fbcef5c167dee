"""Consistency rules over the analytics tables, as plain functions (the Dagster asset checks
in ``blueplane_pipeline.orchestration.checks`` call them; tests call them directly).

Each returns ``(passed, details)``; details name the offending counts so a failure says
what is wrong.
"""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.analytics.token_source import TOKEN_COLUMNS, token_rows_sql

KEYS = {
    "sessions": ("session_id",),
    "tool_calls": ("tool_use_id",),
    "turns": ("session_id", "turn_index"),
    "file_edits": ("edit_id",),
    "metrics_daily": ("day", "platform", "project_path", "model"),
    "tool_metrics": ("day", "tool_name"),
    "insights": ("insight_id",),
}

Result = tuple[bool, dict]


def unique_keys(conn: sqlite3.Connection, table: str) -> Result:
    cols = ", ".join(KEYS[table])
    rows, distinct = conn.execute(
        f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {table})) "
        f"FROM {table}").fetchone()
    nulls = conn.execute(f"SELECT count(*) FROM {table} WHERE " +
                         " OR ".join(f"{c} IS NULL" for c in KEYS[table])).fetchone()[0]
    return rows == distinct and nulls == 0, {"rows": rows, "distinct_keys": distinct,
                                             "null_keys": nulls}


def no_negative_latency(conn: sqlite3.Connection) -> Result:
    bad = conn.execute("SELECT count(*) FROM tool_calls WHERE latency_ms < 0").fetchone()[0]
    bad_turns = conn.execute(
        "SELECT count(*) FROM turns WHERE duration_s < 0 OR active_s < 0").fetchone()[0]
    return bad == 0 and bad_turns == 0, {"negative_latencies": bad,
                                         "negative_turn_durations": bad_turns}


def tool_call_sessions_exist(conn: sqlite3.Connection) -> Result:
    orphans = conn.execute(
        "SELECT count(*) FROM tool_calls t WHERE NOT EXISTS "
        "(SELECT 1 FROM sessions s WHERE s.session_id = t.session_id)").fetchone()[0]
    orphan_turns = conn.execute(
        "SELECT count(*) FROM turns t WHERE NOT EXISTS "
        "(SELECT 1 FROM sessions s WHERE s.session_id = t.session_id)").fetchone()[0]
    return orphans == 0 and orphan_turns == 0, {"orphan_tool_calls": orphans,
                                                "orphan_turns": orphan_turns}


def session_counts_match_rows(conn: sqlite3.Connection) -> Result:
    """sessions.tool_calls / prompts equal the rows in tool_calls / turns."""
    a = conn.execute("SELECT coalesce(sum(tool_calls), 0), coalesce(sum(prompts), 0), "
                     "coalesce(sum(lines_added), 0) FROM sessions").fetchone()
    b = (conn.execute("SELECT count(*) FROM tool_calls").fetchone()[0],
         conn.execute("SELECT count(*) FROM turns").fetchone()[0],
         conn.execute("SELECT coalesce(sum(lines_added), 0) FROM tool_calls").fetchone()[0])
    return tuple(a) == b, {"sessions_sums": list(a), "row_counts": list(b)}


def metric_sums_match_rows(conn: sqlite3.Connection) -> Result:
    """Every count in metrics_daily and tool_metrics sums to its row table."""
    daily = conn.execute(
        "SELECT coalesce(sum(sessions), 0), coalesce(sum(prompts), 0), "
        "coalesce(sum(tool_calls), 0), coalesce(sum(tool_errors), 0), "
        "coalesce(sum(edits_accepted), 0), coalesce(sum(lines_added), 0), "
        "coalesce(sum(lines_removed), 0) FROM metrics_daily").fetchone()
    rows = (
        conn.execute("SELECT count(*) FROM sessions").fetchone()[0],
        conn.execute("SELECT count(*) FROM turns").fetchone()[0],
        *conn.execute(
            "SELECT count(*), coalesce(sum(status = 'error'), 0), "
            "coalesce(sum(is_edit AND status = 'success'), 0), coalesce(sum(lines_added), 0), "
            "coalesce(sum(lines_removed), 0) FROM tool_calls").fetchone(),
    )
    tools = conn.execute("SELECT coalesce(sum(calls), 0), coalesce(sum(errors), 0) "
                         "FROM tool_metrics").fetchone()
    ok = tuple(daily) == tuple(rows) and tuple(tools) == (rows[2], rows[3])
    names = ["sessions", "prompts", "tool_calls", "tool_errors", "edits_accepted",
             "lines_added", "lines_removed"]
    return ok, {"metrics_daily": dict(zip(names, daily, strict=True)),
                "rows": dict(zip(names, rows, strict=True)),
                "tool_metrics_calls_errors": list(tools)}


def tokens_match_token_usage(conn: sqlite3.Connection) -> Result:
    """Token and cost totals of metrics_daily and of sessions equal token_usage's."""
    sql = token_rows_sql(conn)
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in (*TOKEN_COLUMNS, "cost_usd"))
    theirs = conn.execute(f"SELECT {sums} FROM ({sql})").fetchone() if sql else (0,) * 5
    daily = conn.execute(f"SELECT {sums} FROM metrics_daily").fetchone()
    in_sessions = conn.execute(
        f"SELECT {sums} FROM ({sql}) WHERE session_id IN (SELECT session_id FROM sessions)"
    ).fetchone() if sql else (0,) * 5
    sessions = conn.execute(f"SELECT {sums} FROM sessions").fetchone()

    def same(a, b) -> bool:
        return all(int(x) == int(y) for x, y in zip(a[:4], b[:4], strict=True)) and \
            abs(float(a[4]) - float(b[4])) < 1e-3

    names = [*TOKEN_COLUMNS, "cost_usd"]
    return same(daily, theirs) and same(sessions, in_sessions), {
        "token_usage": dict(zip(names, theirs, strict=True)),
        "metrics_daily": dict(zip(names, daily, strict=True)),
        "sessions": dict(zip(names, sessions, strict=True)),
    }
