"""Lost OTel batches: gaps in ``event.sequence``, which Claude Code numbers 0..N per session.

A gap means an export never arrived (the receiver was down, or the CLI exited before its
exporter flushed); the events of that batch are gone, and reports say so rather than
showing their totals as complete.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class SequenceGap:
    session_id: str
    first_missing: int
    last_missing: int

    @property
    def missing(self) -> int:
        return self.last_missing - self.first_missing + 1


def sequence_gaps(conn: sqlite3.Connection, session_id: str | None = None) -> list[SequenceGap]:
    """Every run of missing sequence numbers below each session's highest one (a session
    whose first events are missing starts its gap at 0)."""
    where, params = "sequence IS NOT NULL", []
    if session_id is not None:
        where += " AND session_id = ?"
        params.append(session_id)
    rows = conn.execute(
        f"SELECT session_id, prev, sequence FROM (SELECT session_id, sequence, lag(sequence,"
        f" 1, -1) OVER (PARTITION BY session_id ORDER BY sequence) AS prev"
        f" FROM otel_log_events WHERE {where}) WHERE sequence > prev + 1"
        " ORDER BY session_id, sequence",
        params,
    ).fetchall()
    return [SequenceGap(s, prev + 1, seq - 1) for s, prev, seq in rows]
