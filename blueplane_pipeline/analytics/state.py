"""Watermarks and the dirty-day queue of the analytics refresh, and row writing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from blueplane_pipeline.storage.analytics_docs import TABLE_DOCS
from blueplane_pipeline.storage.otel_docs import OTEL_JOINED

CHUNK = 500  # SQLite parameters per IN (...) list


def get(conn: sqlite3.Connection, name: str, default: int = 0) -> int:
    row = conn.execute("SELECT value FROM analytics_state WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row and row[0] is not None else default


def put(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute("INSERT INTO analytics_state (name, value) VALUES (?, ?) "
                 "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, str(value)))


def mark_days(conn: sqlite3.Connection, days: Iterable[str | None]) -> None:
    conn.executemany("INSERT INTO analytics_dirty_days (day) VALUES (?) ON CONFLICT DO NOTHING",
                     [(d,) for d in set(days) if d])


def dirty_days(conn: sqlite3.Connection) -> list[str]:
    return [d for (d,) in conn.execute("SELECT day FROM analytics_dirty_days ORDER BY day")]


def chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def insert_rows(conn: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(TABLE_DOCS[table]["columns"])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    # The OTel columns are filled afterwards by ``analytics.otel_join`` (NULL until then).
    conn.executemany(sql, [tuple(r.get(c) if c in OTEL_JOINED else r[c] for c in cols)
                           for r in rows])


