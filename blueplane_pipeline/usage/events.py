"""Reading usage records out of stored transcript events (the importer's contract: platform
``claude_code``, source ``transcript``, payload = the parsed JSONL line plus ``_file``,
relative to ``projects/``, and ``_line``), through the one reader API."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from blueplane_pipeline.storage.reader import iter_events
from blueplane_pipeline.usage.records import UsageRecord, record_from_line

# Line types that can carry usage: API messages, and progress lines echoing a subagent's.
TRANSCRIPT_EVENT_TYPES = ("assistant", "progress")


def record_from_event(seq: int, envelope: dict) -> UsageRecord | None:
    """The usage record of a stored transcript event, or ``None``."""
    if envelope.get("source") != "transcript":
        return None
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        return None
    file = payload.get("_file")
    if not isinstance(file, str) or not file:
        file = f"unknown/{envelope.get('session_id') or 'unknown'}.jsonl"
    line_no = payload.get("_line") if isinstance(payload.get("_line"), int) else 0
    return record_from_line(payload, file, line_no, seq)


def transcript_records(conn: sqlite3.Connection, since_seq: int = 0,
                       until_seq: int | None = None,
                       on_event: Callable[[], None] | None = None) -> Iterator[UsageRecord]:
    """Usage records of the stored transcript events in ``(since_seq, until_seq]``;
    ``on_event`` is called for every event read (counting, progress bars)."""
    for ev in iter_events(conn, since_seq=since_seq, until_seq=until_seq, platform="claude_code",
                          event_types=TRANSCRIPT_EVENT_TYPES):
        if on_event is not None:
            on_event()
        rec = record_from_event(ev.seq, ev.envelope)
        if rec is not None:
            yield rec


def count_transcript_events(conn: sqlite3.Connection) -> int:
    """How many events ``transcript_records`` would read from the start."""
    marks = ",".join("?" * len(TRANSCRIPT_EVENT_TYPES))
    try:
        return conn.execute(
            "SELECT count(*) FROM raw_events r JOIN event_kinds k ON k.kind = r.kind"
            " WHERE k.platform = 'claude_code' AND k.source = 'transcript'"
            f" AND k.event_type IN ({marks})", TRANSCRIPT_EVENT_TYPES).fetchone()[0]
    except sqlite3.OperationalError:  # no raw_events table yet
        return 0
