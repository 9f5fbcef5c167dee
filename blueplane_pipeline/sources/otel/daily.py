"""Metric points -> per-session, per-day totals (``otel_session_daily``) and edit decisions
by tool and language (``otel_edit_decisions_daily``).

Lines of code, active time and edit decisions exist only as metrics. A point's contribution
is its increment (``records.increments_of``: DELTA as sent, CUMULATIVE as the rise since the
previous point of its series and start), attributed to the UTC day of the point's time, so a
session exported with either temporality gets the same totals.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict

import orjson

from blueplane_pipeline.core.times import iso_ms
from blueplane_pipeline.sources.otel.records import MetricPoint, increments_of


def metric_kind(name: str) -> str:
    """``claude_code.lines_of_code.count`` -> ``lines_of_code.count`` (any vendor prefix)."""
    parts = name.split(".")
    return ".".join(parts[1:]) if len(parts) > 2 else name


def session_points(conn: sqlite3.Connection, session_id: str) -> list[MetricPoint]:
    rows = conn.execute(
        "SELECT metric, series, start_ns, time_ns, temporality, value, session_id, platform,"
        " attributes FROM otel_metric_points WHERE session_id = ?",
        (session_id,),
    ).fetchall()
    return [
        MetricPoint(m, s, st, t, tp, v, sid, plat, orjson.loads(a))
        for m, s, st, t, tp, v, sid, plat, a in rows
    ]


def day_totals(points: list[MetricPoint]) -> tuple[dict, dict]:
    """``({day: {column: total}}, {(day, tool, language, decision, source): count})``."""
    days: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    edits: dict[tuple, float] = defaultdict(float)
    for point, inc in increments_of(points):
        if not inc:
            continue
        day = iso_ms(point.time_ns // 1_000_000)[:10]
        kind, attrs = metric_kind(point.metric), point.attributes
        row = days[day]
        row["_platform"] = point.platform  # type: ignore[assignment]
        if kind == "lines_of_code.count":
            row["lines_removed" if attrs.get("type") == "removed" else "lines_added"] += inc
        elif kind == "active_time.total":
            row["active_time_cli_s" if attrs.get("type") == "cli" else "active_time_user_s"] += inc
        elif kind == "code_edit_tool.decision":
            decision = str(attrs.get("decision") or "")
            row["edit_decisions"] += inc
            row["edit_accepts" if decision == "accept" else "edit_rejects"] += (
                inc if decision in ("accept", "reject") else 0
            )
            edits[
                (
                    day,
                    str(attrs.get("tool_name") or ""),
                    str(attrs.get("language") or ""),
                    decision,
                    str(attrs.get("source") or ""),
                )
            ] += inc
        elif kind == "cost.usage":
            row["metric_cost_usd"] += inc
        elif kind == "token.usage":
            row["metric_tokens"] += inc
        elif kind == "session.count":
            row["sessions_started"] += inc
    return days, edits


_COLUMNS = (
    "lines_added",
    "lines_removed",
    "active_time_user_s",
    "active_time_cli_s",
    "edit_decisions",
    "edit_accepts",
    "edit_rejects",
    "metric_cost_usd",
    "metric_tokens",
    "sessions_started",
)
_INTEGER = frozenset(
    {
        "lines_added",
        "lines_removed",
        "edit_decisions",
        "edit_accepts",
        "edit_rejects",
        "metric_tokens",
        "sessions_started",
    }
)


def rebuild_sessions(conn: sqlite3.Connection, sessions: set[str]) -> None:
    """Recompute the daily rows of ``sessions`` from all their stored points."""
    for session_id in sorted(s for s in sessions if s):
        conn.execute("DELETE FROM otel_session_daily WHERE session_id = ?", (session_id,))
        conn.execute("DELETE FROM otel_edit_decisions_daily WHERE session_id = ?", (session_id,))
        days, edits = day_totals(session_points(conn, session_id))
        for day, row in days.items():
            values = [
                round(row.get(c, 0.0)) if c in _INTEGER else round(row.get(c, 0.0), 9)
                for c in _COLUMNS
            ]
            conn.execute(
                f"INSERT INTO otel_session_daily (session_id, day, platform, {', '.join(_COLUMNS)})"
                f" VALUES (?, ?, ?, {', '.join('?' * len(_COLUMNS))})",
                (session_id, day, row.get("_platform") or "otel", *values),
            )
        conn.executemany(
            "INSERT INTO otel_edit_decisions_daily (session_id, day, tool_name, language,"
            " decision, source, decisions) VALUES (?,?,?,?,?,?,?)",
            [(session_id, *key, round(count)) for key, count in edits.items() if count],
        )
