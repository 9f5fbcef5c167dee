"""Per-tool performance over a window: calls by outcome, rates, exact latency percentiles."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.analytics.metrics import (
    acceptance_rate,
    error_rate,
    interruption_rate,
    rejection_rate,
)
from blueplane_pipeline.read.connect import require
from blueplane_pipeline.read.filters import CALL_TIME, NO_FILTERS, Filters, scoped
from blueplane_pipeline.read.latency import NO_LATENCIES, grouped_latencies
from blueplane_pipeline.read.periods import Window


def tool_performance(conn: sqlite3.Connection, window: Window, filters: Filters = NO_FILTERS,
                     tool: str | None = None) -> list[dict]:
    """Per tool over ``window``, busiest first: calls by status, rates, percentiles."""
    require(conn, "tool_calls")
    where = scoped(conn, window, filters, ts_expr=CALL_TIME)
    if tool:
        where.add("tool_name = ?", tool)
    sql = ("SELECT tool_name, max(mcp_server), count(DISTINCT session_id), count(*),"
           " sum(status = 'success'), sum(status = 'error'), sum(status = 'rejected'),"
           " sum(status = 'interrupted'), sum(status = 'pending'), max(is_edit),"
           " sum(user_modified AND status = 'success'),"
           " sum(CASE WHEN status = 'success' THEN lines_added ELSE 0 END),"
           " sum(CASE WHEN status = 'success' THEN lines_removed ELSE 0 END), max(latency_ms)"
           f" FROM tool_calls{where.sql()} GROUP BY tool_name")
    pcts = grouped_latencies(conn, "tool_name", where)
    out = []
    for (name, server, sessions, calls, ok, err, rej, intr, pend, is_edit, modified, added,
         removed, slowest) in conn.execute(sql, where.params):
        row = {
            "tool_name": name, "mcp_server": server, "sessions": sessions, "calls": calls,
            "success": ok, "errors": err, "rejected": rej, "interrupted": intr,
            "pending": pend,
            "error_rate": error_rate(err, ok),
            "rejection_rate": rejection_rate(rej, calls),
            "interruption_rate": interruption_rate(intr, calls),
            "acceptance_rate": acceptance_rate(ok, rej) if is_edit else None,
            "user_modified": modified, "lines_added": added, "lines_removed": removed,
            "latency_max_ms": slowest,
        }
        row.update(pcts.get(name) or NO_LATENCIES)
        out.append(row)
    out.sort(key=lambda r: (-r["calls"], r["tool_name"]))
    return out


def tool_names(conn: sqlite3.Connection, limit: int = 50) -> list[str]:
    """Tools seen, most called first."""
    require(conn, "tool_calls")
    return [r[0] for r in conn.execute(
        "SELECT tool_name FROM tool_calls GROUP BY tool_name ORDER BY count(*) DESC, tool_name"
        " LIMIT ?", (limit,))]
