"""metrics_daily (day × platform × project × model) and tool_metrics (day × tool).

Recomputed per day from the row tables, only for the days in the dirty queue (filled by
the session refresh) plus days whose token_usage totals no longer match. Every rate and
percentile is computed from the day's rows, never from other aggregates.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass

from blueplane_pipeline.analytics import state
from blueplane_pipeline.analytics.metrics import (
    STORED_DIGITS,
    acceptance_rate,
    daily_rates,
    error_rate,
    interruption_rate,
    p50_p95_p99,
    rejection_rate,
)
from blueplane_pipeline.analytics.otel_join import DAILY_COLUMNS as OTEL_DAILY_COLUMNS
from blueplane_pipeline.analytics.otel_join import daily_otel as otel_daily
from blueplane_pipeline.analytics.token_source import TOKEN_COLUMNS, token_rows_sql
from blueplane_pipeline.storage.db import write_transaction

DAY_BATCH = 60


@dataclass
class RollupStats:
    days: int = 0
    metrics_daily_rows: int = 0
    tool_metrics_rows: int = 0
    token_days: int = 0
    seconds: float = 0.0
    full_rebuild: bool = False


def refresh_rollups(conn: sqlite3.Connection, *, full: bool = False) -> RollupStats:
    t0 = time.perf_counter()
    stats = RollupStats(full_rebuild=full)
    token_sql = token_rows_sql(conn)
    if full:
        with write_transaction(conn):
            conn.execute("DELETE FROM metrics_daily")
            conn.execute("DELETE FROM tool_metrics")
            state.mark_days(conn, [d for (d,) in conn.execute(
                "SELECT day FROM sessions UNION SELECT day FROM tool_calls "
                "UNION SELECT day FROM turns")])
    token_days = _token_mismatch_days(conn, token_sql)
    stats.token_days = len(token_days)
    if token_days:
        with write_transaction(conn):
            state.mark_days(conn, token_days)
    days = state.dirty_days(conn)
    stats.days = len(days)
    for batch in state.chunks(days, DAY_BATCH):
        marks = ",".join("?" * len(batch))
        # Read and write under one write lock: a session refresh that re-marks one of
        # these days meanwhile must not have its mark cleared by rows computed before it.
        with write_transaction(conn):
            daily = daily_rows(conn, batch, token_sql)
            tools = tool_rows(conn, batch)
            conn.execute(f"DELETE FROM metrics_daily WHERE day IN ({marks})", batch)
            conn.execute(f"DELETE FROM tool_metrics WHERE day IN ({marks})", batch)
            state.insert_rows(conn, "metrics_daily", daily)
            state.insert_rows(conn, "tool_metrics", tools)
            conn.execute(f"DELETE FROM analytics_dirty_days WHERE day IN ({marks})", batch)
        stats.metrics_daily_rows += len(daily)
        stats.tool_metrics_rows += len(tools)
    stats.seconds = round(time.perf_counter() - t0, 3)
    return stats


def _token_mismatch_days(conn: sqlite3.Connection, token_sql: str | None) -> list[str]:
    """Days whose token totals in metrics_daily differ from token_usage (token_usage is
    written by another asset, possibly after the sessions that caused it)."""
    mine = {r[0]: r[1:] for r in conn.execute(
        "SELECT day, " + ", ".join(f"sum({c})" for c in TOKEN_COLUMNS) +
        ", round(sum(cost_usd), 6) FROM metrics_daily GROUP BY day")}
    theirs: dict = {}
    if token_sql:
        theirs = {r[0]: r[1:] for r in conn.execute(
            "SELECT day, " + ", ".join(f"sum({c})" for c in TOKEN_COLUMNS) +
            f", round(sum(cost_usd), 6) FROM ({token_sql}) GROUP BY day")}
    zero = (0, 0, 0, 0, 0.0)
    return sorted(d for d in set(mine) | set(theirs)
                  if not _same_totals(mine.get(d, zero), theirs.get(d, zero)))


def _same_totals(a: tuple, b: tuple) -> bool:
    """Token counts exactly, cost to a micro-dollar per row's rounding."""
    return all(int(x or 0) == int(y or 0) for x, y in zip(a[:4], b[:4], strict=True)) and \
        abs(float(a[4] or 0) - float(b[4] or 0)) < 1e-4


def _project_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else ""


def daily_rows(conn: sqlite3.Connection, days: list[str], token_sql: str | None) -> list[dict]:
    marks = ",".join("?" * len(days))
    groups: dict[tuple, dict] = defaultdict(_empty_daily)
    latencies: dict[tuple, list[float]] = defaultdict(list)
    for (day, platform, project, model, status, is_edit, modified, added, removed,
         latency) in conn.execute(
            "SELECT day, platform, project_path, model, status, is_edit, user_modified, "
            f"lines_added, lines_removed, latency_ms FROM tool_calls WHERE day IN ({marks})",
            days):
        key = (day, platform, project, model)
        g = groups[key]
        g["tool_calls"] += 1
        g[_STATUS_COL[status]] += 1
        if is_edit and status == "success":
            g["edits_accepted"] += 1
            g["edits_user_modified"] += modified
        elif is_edit and status == "rejected":
            g["edits_rejected"] += 1
        g["lines_added"] += added
        g["lines_removed"] += removed
        if latency is not None:
            latencies[key].append(latency)
    for day, platform, project, model, n, active in conn.execute(
            "SELECT day, platform, project_path, model, count(*), sum(active_s) FROM turns "
            f"WHERE day IN ({marks}) GROUP BY 1, 2, 3, 4", days):
        g = groups[(day, platform, project, model)]
        g["prompts"] += n
        g["active_s"] += active or 0.0
    for day, platform, project, model, n in conn.execute(
            "SELECT day, platform, project_path, primary_model, count(*) FROM sessions "
            f"WHERE day IN ({marks}) GROUP BY 1, 2, 3, 4", days):
        groups[(day, platform, project, model)]["sessions"] += n
    if token_sql:
        sums = ", ".join(f"sum(t.{c})" for c in (*TOKEN_COLUMNS, "cost_usd"))
        for day, platform, project, model, *vals in conn.execute(
                f"SELECT t.day, coalesce(s.platform, 'claude_code'), "
                f"coalesce(s.project_path, ''), t.model, {sums} FROM ({token_sql}) t "
                f"LEFT JOIN sessions s ON s.session_id = t.session_id "
                f"WHERE t.day IN ({marks}) GROUP BY 1, 2, 3, 4", days):
            g = groups[(day, platform, project, model)]
            for col, v in zip((*TOKEN_COLUMNS, "cost_usd"), vals, strict=True):
                g[col] += v or 0
    otel = otel_daily(conn, days)
    for key in otel:
        groups[key]  # noqa: B018 - a group that only OTel saw is still a row
    rows = []
    for key in sorted(groups):
        g = groups[key]
        g.update(otel.get(key) or dict.fromkeys(OTEL_DAILY_COLUMNS))
        day, platform, project, model = key
        p50, p95, p99 = p50_p95_p99(latencies.get(key, []))
        g.update(daily_rates(g, digits=STORED_DIGITS))
        g.update(
            day=day, platform=platform, project_path=project,
            project_name=_project_name(project), model=model,
            active_s=round(g["active_s"], 3),
            latency_p50_ms=p50, latency_p95_ms=p95, latency_p99_ms=p99,
            total_tokens=sum(int(g[c]) for c in TOKEN_COLUMNS),
            cost_usd=round(g["cost_usd"], 6),
        )
        rows.append(g)
    return rows


_STATUS_COL = {"success": "tool_success", "error": "tool_errors", "rejected": "tool_rejected",
               "interrupted": "tool_interrupted", "pending": "tool_pending"}


def _empty_daily() -> dict:
    row = dict.fromkeys(
        ("sessions", "prompts", "tool_calls", "tool_success", "tool_errors", "tool_rejected",
         "tool_interrupted", "tool_pending", "edits_accepted", "edits_rejected",
         "edits_user_modified", "lines_added", "lines_removed", *TOKEN_COLUMNS), 0)
    row["active_s"] = 0.0
    row["cost_usd"] = 0.0
    return row


def tool_rows(conn: sqlite3.Connection, days: list[str]) -> list[dict]:
    marks = ",".join("?" * len(days))
    groups: dict[tuple, dict] = {}
    latencies: dict[tuple, list[float]] = defaultdict(list)
    sessions: dict[tuple, set] = defaultdict(set)
    for (day, tool, server, session, status, is_edit, added, removed, latency) in conn.execute(
            "SELECT day, tool_name, mcp_server, session_id, status, is_edit, lines_added, "
            f"lines_removed, latency_ms FROM tool_calls WHERE day IN ({marks})", days):
        key = (day, tool)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"day": day, "tool_name": tool, "mcp_server": server,
                               "calls": 0, "success": 0, "errors": 0, "rejected": 0,
                               "interrupted": 0, "pending": 0, "lines_added": 0,
                               "lines_removed": 0, "_edit": bool(is_edit)}
        g["calls"] += 1
        g[_TOOL_STATUS_COL[status]] += 1
        g["lines_added"] += added
        g["lines_removed"] += removed
        sessions[key].add(session)
        if latency is not None:
            latencies[key].append(latency)
    rows = []
    for key in sorted(groups):
        g = groups[key]
        lat = latencies.get(key, [])
        p50, p95, p99 = p50_p95_p99(lat)
        g.update(
            sessions=len(sessions[key]),
            error_rate=error_rate(g["errors"], g["success"], STORED_DIGITS),
            rejection_rate=rejection_rate(g["rejected"], g["calls"], STORED_DIGITS),
            interruption_rate=interruption_rate(g["interrupted"], g["calls"], STORED_DIGITS),
            acceptance_rate=acceptance_rate(g["success"], g["rejected"], STORED_DIGITS)
            if g["_edit"] else None,
            latency_p50_ms=p50, latency_p95_ms=p95, latency_p99_ms=p99,
            latency_max_ms=max(lat) if lat else None,
        )
        rows.append(g)
    return rows


_TOOL_STATUS_COL = {"success": "success", "error": "errors", "rejected": "rejected",
                    "interrupted": "interrupted", "pending": "pending"}
