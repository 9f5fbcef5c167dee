"""What was spent, from ``token_usage``, in the shape the budgets and the statusline read.

:func:`compute` reads the rows since the start of the longest window (this month or this
week, whichever began first) and sums them per local day and project, finds the current
5-hour block, and keeps the cost of each session active in the last day (the statusline
adds a running session's newer cost to it). :func:`write` stores the result as
``run/spend.json``; the analytics refresh calls :func:`refresh` after every ingest.
"""

from __future__ import annotations

import os
import sqlite3
import time

from blueplane_pipeline.budgets.evaluate import ALL, local_days
from blueplane_pipeline.budgets.store import write_atomic_json
from blueplane_pipeline.storage.db import has_table

BLOCK_MS = 5 * 3600 * 1000
HOUR_MS = 3600 * 1000
QUARTER_MS = 900_000
DAY_MS = 86_400_000


def _local_midnight_ms(day: str) -> int:
    return int(time.mktime(time.strptime(day, "%Y-%m-%d")) * 1000)


def compute(conn: sqlite3.Connection, now_ms: int | None = None) -> dict:
    """``{"generated_at_ms", "days": {day: {project|"*": usd}}, "block": {...} | None,
    "sessions": {session_id: usd}}``."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    out: dict = {"generated_at_ms": now_ms, "days": {}, "block": None, "sessions": {}}
    if not has_table(conn, "token_usage"):
        return out
    first_day = min(local_days(now_ms, "monthly")[0], local_days(now_ms, "weekly")[0])
    since = min(_local_midnight_ms(first_day), now_ms - 2 * BLOCK_MS)
    names = _project_names(conn, since)
    days: dict[str, dict[str, float]] = out["days"]
    sessions: dict[str, float] = out["sessions"]
    rows = conn.execute(
        "SELECT ts_ms, cost_usd, session_id, project FROM token_usage"
        " WHERE ts_ms >= ? AND ts_ms <= ? ORDER BY ts_ms",
        (since, now_ms),
    ).fetchall()
    # local day per quarter hour (every UTC offset is a multiple of 15 min): one strftime
    # per quarter, not per row
    day_of_quarter: dict[int, str] = {}
    block: dict | None = None
    for ts, cost, sid, project in rows:
        quarter = ts // QUARTER_MS
        day = day_of_quarter.get(quarter)
        if day is None:
            day = day_of_quarter[quarter] = time.strftime(
                "%Y-%m-%d", time.localtime(quarter * QUARTER_MS / 1000)
            )
        name = names.get(sid) or _last_part(project)
        bucket = days.setdefault(day, {})
        bucket[ALL] = bucket.get(ALL, 0.0) + cost
        bucket[name] = bucket.get(name, 0.0) + cost
        if ts >= now_ms - DAY_MS:
            sessions[sid] = sessions.get(sid, 0.0) + cost
        # 5-hour blocks, as usage.reports.blocks_report opens them
        if block is None or ts - block["start_ms"] > BLOCK_MS or ts - block["last_ms"] > BLOCK_MS:
            block = {
                "start_ms": ts - ts % HOUR_MS,
                "first_ms": ts,
                "last_ms": ts,
                "cost": 0.0,
                "by_project": {},
            }
        block["last_ms"] = ts
        block["cost"] += cost
        block["by_project"][name] = block["by_project"].get(name, 0.0) + cost
    if block is not None:
        block["end_ms"] = block["start_ms"] + BLOCK_MS
        if now_ms < block["end_ms"] and now_ms - block["last_ms"] < BLOCK_MS:
            out["block"] = block
    for bucket in days.values():
        for k in bucket:
            bucket[k] = round(bucket[k], 6)
    return out


def _project_names(conn: sqlite3.Connection, since_ms: int) -> dict[str, str]:
    """session_id -> project name (the folder's last part, as ``--project`` names it)."""
    if not has_table(conn, "sessions"):
        return {}
    from blueplane_pipeline.core.times import iso_ms

    return dict(
        conn.execute(
            "SELECT session_id, project_name FROM sessions WHERE ended_at >= ?",
            (iso_ms(since_ms - DAY_MS),),
        ).fetchall()
    )


def _last_part(project: str | None) -> str:
    """A ``token_usage.project`` without a session row: its last path component."""
    if not project:
        return "unknown"
    return os.path.basename(project.rstrip("/")) or project


def write(spend: dict, path: str | None = None) -> str:
    from blueplane_pipeline.core import config

    path = path or config.spend_path_str()
    write_atomic_json(path, spend)
    return path


def refresh(conn: sqlite3.Connection, now_ms: int | None = None) -> dict:
    """Compute and store the spend; returns it."""
    spend = compute(conn, now_ms)
    write(spend)
    return spend
