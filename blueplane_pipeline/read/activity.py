"""What the live view (``blueplane watch``) shows: today, newest sessions and tool calls."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.read.backlog import analytics_backlog
from blueplane_pipeline.read.connect import require
from blueplane_pipeline.read.filters import CALL_TIME
from blueplane_pipeline.read.periods import parse_period
from blueplane_pipeline.read.sql import dict_rows
from blueplane_pipeline.read.summary import summary


def recent_activity(conn: sqlite3.Connection, *, sessions: int = 8,
                    calls: int = 12) -> dict:
    """Today's numbers, the newest sessions and the latest tool calls, and the backlog."""
    today, _ = parse_period("1d")
    require(conn, "sessions", "tool_calls", "metrics_daily")
    newest = dict_rows(conn.execute(
        "SELECT session_id, platform, project_name, started_at, ended_at, prompts, tool_calls,"
        " tool_errors, acceptance_rate, cost_usd FROM sessions ORDER BY ended_at DESC"
        " LIMIT ?", (sessions,)))
    latest_calls = dict_rows(conn.execute(
        f"SELECT {CALL_TIME} AS at, session_id, tool_name, status,"
        " latency_ms FROM tool_calls WHERE day >= (SELECT max(day) FROM tool_calls)"
        " ORDER BY at DESC LIMIT ?", (calls,)))
    return {"today": summary(conn, today), "sessions": newest, "tool_calls": latest_calls,
            "last_event": newest[0]["ended_at"] if newest else None,
            **analytics_backlog(conn)}
