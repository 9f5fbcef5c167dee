"""Versioned schema migrations, tracked in ``PRAGMA user_version``.

Append new migrations to ``MIGRATIONS``; never edit a released one.
"""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.storage.schema_analytics import ANALYTICS_V4
from blueplane_pipeline.storage.schema_otel import OTEL_V10
from blueplane_pipeline.storage.schema_search import SEARCH_V9
from blueplane_pipeline.storage.schema_sources import IMPORT_STATE_V2
from blueplane_pipeline.storage.schema_usage import TOKEN_USAGE_V3, TOKEN_USAGE_V6, TOKEN_USAGE_V8

RAW_EVENTS_V1 = """
CREATE TABLE IF NOT EXISTS event_kinds (
    kind INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    source TEXT NOT NULL,
    event_type TEXT NOT NULL,
    UNIQUE (platform, source, event_type)
);
CREATE TABLE IF NOT EXISTS event_sessions (
    session INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS codec_dicts (
    dict_id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    samples INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS raw_event_blocks (
    block_id INTEGER PRIMARY KEY,
    codec TEXT NOT NULL,
    dict_id INTEGER REFERENCES codec_dicts(dict_id),
    n_events INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS raw_events (
    seq INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    kind INTEGER NOT NULL REFERENCES event_kinds(kind),
    session INTEGER REFERENCES event_sessions(session),
    block_id INTEGER NOT NULL REFERENCES raw_event_blocks(block_id),
    block_pos INTEGER NOT NULL,
    raw_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS raw_events_by_session ON raw_events (session, seq);
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    trigger TEXT NOT NULL,
    events_read INTEGER NOT NULL,
    events_stored INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    dead_lettered INTEGER NOT NULL,
    spool_files INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL,
    seconds REAL NOT NULL,
    events_per_s REAL NOT NULL,
    batch_p50_ms REAL,
    batch_p95_ms REAL,
    lag_after INTEGER
);
CREATE VIEW IF NOT EXISTS raw_events_view AS
SELECT r.seq,
       lower(hex(r.event_id)) AS event_id_hex,
       strftime('%Y-%m-%dT%H:%M:%fZ', r.ts_ms / 1000.0, 'unixepoch') AS ts,
       k.platform, k.source, k.event_type,
       s.session_id,
       r.block_id, r.block_pos, r.raw_size
FROM raw_events r
JOIN event_kinds k ON k.kind = r.kind
LEFT JOIN event_sessions s ON s.session = r.session;
"""

# The per-event (session, seq) index took ~14 bytes per event, as much as a tenth of all
# stored bytes (measured in benchmarks/bench_storage.py). It is replaced by one row per
# (session, block) holding the seq span of that session's events in that block.
RAW_EVENTS_V5 = """
CREATE TABLE IF NOT EXISTS session_spans (
    session INTEGER NOT NULL,
    block_id INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (session, block_id)
) WITHOUT ROWID;
INSERT OR REPLACE INTO session_spans (session, block_id, first_seq, last_seq)
SELECT session, block_id, min(seq), max(seq) FROM raw_events
WHERE session IS NOT NULL GROUP BY session, block_id;
DROP INDEX IF EXISTS raw_events_by_session;
"""

# How many secrets the privacy filter redacted, per day, platform and rule
# (``core.redaction``): counted into each envelope where it was filtered and summed here by
# the raw-event writer, in the same transaction as the events (a re-delivered event adds
# nothing). Counts only, never what was redacted.
REDACTION_COUNTS_V7 = """
CREATE TABLE IF NOT EXISTS redaction_counts (
    day TEXT NOT NULL,
    platform TEXT NOT NULL,
    rule TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, platform, rule)
) WITHOUT ROWID;
"""

MIGRATIONS: list[tuple[int, str]] = [
    (1, RAW_EVENTS_V1),
    (2, IMPORT_STATE_V2),
    (3, TOKEN_USAGE_V3),
    (4, ANALYTICS_V4),
    (5, RAW_EVENTS_V5),
    (6, TOKEN_USAGE_V6),
    (7, REDACTION_COUNTS_V7),
    (8, TOKEN_USAGE_V8),
    (9, SEARCH_V9),
    (10, OTEL_V10),
]


def current_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def latest_version() -> int:
    return MIGRATIONS[-1][0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations in order, each in its own transaction; return the version."""
    version = current_version(conn)
    for number, script in MIGRATIONS:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            version = current_version(conn)
            if number <= version:
                conn.execute("COMMIT")
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]
