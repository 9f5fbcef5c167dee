"""Where edits are accepted and tools fail, and turns with their calls for pattern mining:
what the MCP server's analysis tools are computed from."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from blueplane_pipeline.analytics.metrics import acceptance_rate, user_modified_share
from blueplane_pipeline.read.connect import BadRequest, require
from blueplane_pipeline.read.filters import CALL_TIME, FAILED, NO_FILTERS, Filters, scoped
from blueplane_pipeline.read.periods import Window
from blueplane_pipeline.read.sql import Where, dict_rows, in_clause

ACCEPTANCE_BYS = {"tool": "tool_name", "file_ext": "file_ext", "model": "model", "day": "day",
                  "project": "project_path"}


def acceptance_breakdown(conn: sqlite3.Connection, window: Window, filters: Filters = NO_FILTERS,
                         by: str = "tool", *, file_ext: str | None = None) -> list[dict]:
    """Edit decisions grouped ``by`` tool/file_ext/model/day/project, from ``file_edits``:
    accepted, rejected, user-modified, churn (re-edited within 5 min), lines, rates."""
    if by not in ACCEPTANCE_BYS:
        raise BadRequest(f"unknown grouping {by!r}: use one of {', '.join(ACCEPTANCE_BYS)}")
    require(conn, "file_edits")
    where = scoped(conn, window, filters, ts_expr="ts")
    if file_ext is not None:
        where.add("file_ext = ?", file_ext)
    rows = dict_rows(conn.execute(
        f"SELECT {ACCEPTANCE_BYS[by]} AS key, count(*) AS edits,"
        " coalesce(sum(accepted = 1), 0) AS accepted, coalesce(sum(accepted = 0), 0) AS rejected,"
        " coalesce(sum(accepted = 1 AND user_modified = 1), 0) AS user_modified,"
        " coalesce(sum(accepted = 1 AND reedited_within_5m = 1), 0) AS reedited_within_5m,"
        " coalesce(sum(lines_added), 0) AS lines_added,"
        " coalesce(sum(lines_removed), 0) AS lines_removed"
        f" FROM file_edits{where.sql()} GROUP BY 1 ORDER BY edits DESC, key", where.params))
    for row in rows:
        row["acceptance_rate"] = acceptance_rate(row["accepted"], row["rejected"])
        row["user_modified_share"] = user_modified_share(row["user_modified"], row["accepted"])
    return rows


def _calls_where(conn: sqlite3.Connection, window: Window, filters: Filters,
                 tool: str | None, file_ext: str | None) -> Where:
    require(conn, "tool_calls")
    where = scoped(conn, window, filters, ts_expr=CALL_TIME)
    if tool:
        where.add("tool_name = ?", tool)
    if file_ext is not None:
        where.add("file_ext = ?", file_ext)
    return where


def error_breakdown(conn: sqlite3.Connection, window: Window, filters: Filters = NO_FILTERS, *,
                    tool: str | None = None, file_ext: str | None = None) -> list[dict]:
    """Failed, rejected and interrupted calls per (tool, status, error class), most first,
    with sessions affected, the last time seen and that newest call's error text (SQLite
    takes bare columns from the row that holds the ``max``)."""
    where = _calls_where(conn, window, filters, tool, file_ext).add(FAILED)
    return dict_rows(conn.execute(
        "SELECT tool_name, status, coalesce(error_class, 'other') AS error_class,"
        " count(*) AS calls, count(DISTINCT session_id) AS sessions,"
        f" max({CALL_TIME}) AS last_seen, error_text AS example"
        f" FROM tool_calls{where.sql()} GROUP BY 1, 2, 3 ORDER BY calls DESC, 1, 3",
        where.params))


def call_counts(conn: sqlite3.Connection, window: Window, filters: Filters = NO_FILTERS, *,
                tool: str | None = None, file_ext: str | None = None) -> dict:
    """Tool calls by status in the window (the denominators of ``error_breakdown``)."""
    where = _calls_where(conn, window, filters, tool, file_ext)
    row = conn.execute(
        "SELECT count(*), coalesce(sum(status = 'success'), 0), coalesce(sum(status = 'error'),"
        " 0), coalesce(sum(status = 'rejected'), 0), coalesce(sum(status = 'interrupted'), 0)"
        f" FROM tool_calls{where.sql()}", where.params).fetchone()
    return dict(zip(("calls", "success", "errors", "rejected", "interrupted"), row, strict=True))


def turn_calls(conn: sqlite3.Connection, window: Window, filters: Filters = NO_FILTERS, *,
               keys: Sequence[tuple[str, int]] | None = None,
               with_calls: bool = True) -> list[dict]:
    """Turns with their outcome counts and their tool calls in order (main thread and
    subagents), for pattern mining. ``keys`` restricts to given (session_id, turn_index).
    Each call maps tool_name, status, latency_ms, error_class, file_ext, is_sidechain.
    ``with_calls=False`` skips reading the calls (``calls`` stays empty)."""
    require(conn, "turns", "tool_calls")
    where = scoped(conn, window, filters, ts_expr="started_at")
    if keys is not None:
        if not keys:
            return []
        where.add("(session_id, turn_index) IN (VALUES "
                  + ",".join("(?, ?)" for _ in keys) + ")",
                  *[v for key in keys for v in key])
    turns = dict_rows(conn.execute(
        "SELECT session_id, turn_index, day, project_path, model, started_at, duration_s,"
        " active_s, prompt_chars, tool_calls, tool_errors, tool_rejected, tool_interrupted,"
        " edits_accepted, edits_rejected, interrupted"
        f" FROM turns{where.sql()} ORDER BY started_at", where.params))
    by_key = {(t["session_id"], t["turn_index"]): t for t in turns}
    for t in turns:
        t["calls"] = []
    # Calls come back as sqlite3.Row (mapping access by column name, built in C): at
    # 300k calls, building a dict per call cost more than the query.
    sessions = sorted({t["session_id"] for t in turns}) if with_calls else []
    for start in range(0, len(sessions), 500):
        sql, params = in_clause("session_id", sessions[start:start + 500])
        cur = conn.cursor()
        cur.row_factory = sqlite3.Row
        cur.execute(
            "SELECT session_id, turn_index, tool_name, status, latency_ms, error_class,"
            f" file_ext, is_sidechain FROM tool_calls WHERE {sql} AND turn_index IS NOT NULL"
            f" ORDER BY {CALL_TIME}", params)
        for call in cur:
            turn = by_key.get((call[0], call[1]))
            if turn is not None:
                turn["calls"].append(call)
    return turns
