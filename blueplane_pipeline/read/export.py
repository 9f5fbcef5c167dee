"""Whole tables for export (``blueplane export``), optionally for a range of days."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from blueplane_pipeline.read.connect import BadRequest, require
from blueplane_pipeline.read.sql import Where
from blueplane_pipeline.storage.db import existing_tables

EXPORT_TABLES = ("sessions", "tool_calls", "turns", "file_edits", "metrics_daily",
                 "tool_metrics", "insights", "token_usage")

# The column that dates each table's rows, for date-range exports.
DATE_COLUMNS = {
    "sessions": "day", "tool_calls": "day", "turns": "day", "file_edits": "day",
    "metrics_daily": "day", "tool_metrics": "day", "insights": "window_end",
    "token_usage": "substr(ts, 1, 10)",
}


def exportable_tables(conn: sqlite3.Connection) -> list[str]:
    """The ``EXPORT_TABLES`` this database has, in that order."""
    present = existing_tables(conn)
    return [t for t in EXPORT_TABLES if t in present]


def iter_table(conn: sqlite3.Connection, table: str, *, since_day: str | None = None,
               until_day: str | None = None) -> tuple[list[str], Iterable[tuple]]:
    """(columns, rows) of one exportable table; days inclusive, ``YYYY-MM-DD``."""
    if table not in EXPORT_TABLES:
        raise BadRequest(f"unknown table {table!r}: use one of {', '.join(EXPORT_TABLES)}")
    require(conn, table)
    where = Where()
    date = DATE_COLUMNS[table]
    if since_day:
        where.add(f"{date} >= ?", since_day)
    if until_day:
        where.add(f"{date} <= ?", until_day)
    cur = conn.execute(f"SELECT * FROM {table}{where.sql()}", where.params)
    return [d[0] for d in cur.description], cur
