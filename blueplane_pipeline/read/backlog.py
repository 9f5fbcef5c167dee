"""What the analytics have not caught up with yet (a report's numbers lag behind it)."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.core.times import iso_ms
from blueplane_pipeline.storage.db import existing_tables

BACKLOG_CAP = 100_000  # counting further would cost a report more than it tells


def analytics_backlog(conn: sqlite3.Connection) -> dict:
    """Stored events not read by the analytics yet (counted up to ``BACKLOG_CAP``; the
    oldest by capture time) and days whose rollups are queued.

    A backlog that grows old means nothing is refreshing the tables (pipeline not running).
    """
    tables = existing_tables(conn)
    out: dict = {"events_waiting": None, "oldest_waiting": None, "days_waiting": None}
    if "analytics_dirty_days" in tables:
        out["days_waiting"] = conn.execute(
            "SELECT count(*) FROM analytics_dirty_days").fetchone()[0]
    if "raw_events" not in tables or "analytics_state" not in tables:
        return out
    row = conn.execute("SELECT value FROM analytics_state WHERE name = 'sessions.last_seq'"
                       ).fetchone()
    mark = int(row[0]) if row and row[0] is not None else 0
    count, oldest = conn.execute(
        "SELECT count(*), min(ts_ms) FROM (SELECT ts_ms FROM raw_events WHERE seq > ?"
        " ORDER BY seq LIMIT ?)", (mark, BACKLOG_CAP)).fetchone()
    out["events_waiting"] = count
    out["oldest_waiting"] = iso_ms(oldest) if oldest is not None else None
    return out


def backlog_note(backlog: dict) -> str | None:
    """One line for people when the analytics lag behind what is stored, else ``None``."""
    events, days = backlog.get("events_waiting"), backlog.get("days_waiting")
    parts = []
    if events:
        parts.append(f"{events:,}{'+' if events >= BACKLOG_CAP else ''} stored events")
    if days:
        parts.append(f"{days:,} days of rollups")
    if not parts:
        return None
    return (f"Not yet in these numbers: {' and '.join(parts)} waiting for the analytics. "
            "They catch up when the pipeline refreshes (blueplane up); if they do not, "
            "check `blueplane status` or run `blueplane refresh`.")
