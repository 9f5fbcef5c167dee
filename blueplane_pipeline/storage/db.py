"""SQLite connections: WAL, busy timeout, one writer, read-only readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open ``telemetry.db``.

    Writers get WAL and ``synchronous=NORMAL`` (durable at checkpoints, safe against
    corruption); readers open ``mode=ro`` so they can never write, and WAL lets them read
    while ingest writes.
    """
    path = Path(path)
    if readonly:
        if not path.exists():
            raise FileNotFoundError(f"no database at {path}: run `blueplane ingest` first")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def open_db(path: Path | str) -> sqlite3.Connection:
    """A writer connection with the schema migrated to the latest version."""
    from blueplane_pipeline.storage.migrations import migrate

    conn = connect(path)
    migrate(conn)
    return conn
