"""The findings the analytics stored (``insights`` table), warnings first."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.read.connect import require
from blueplane_pipeline.read.sql import Where, dict_rows


def list_insights(conn: sqlite3.Connection, *, kind: str | None = None,
                  severity: str | None = None, subject: str | None = None) -> list[dict]:
    """Stored findings, optionally of one kind, severity or subject; warnings first."""
    require(conn, "insights")
    where = Where()
    if kind:
        where.add("kind = ?", kind)
    if severity:
        where.add("severity = ?", severity)
    if subject is not None:
        where.add("subject = ?", subject)
    return dict_rows(conn.execute(
        f"SELECT * FROM insights{where.sql()}"
        " ORDER BY severity = 'warn' DESC, kind, metric_value DESC, insight_id", where.params))
