"""A ``telemetry.db`` built by the real pipeline, for the reader tests (Datasette, MCP).

Real Claude Code transcripts (the shared fixtures) go through the importer into the
embedded Redis stream, ``ingest`` stores them, then the token-usage and analytics refreshes
(the functions the Dagster assets run) derive every table. Nothing is hand-inserted.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import CLAUDE_HOME


@contextmanager
def temp_home(prefix: str = "bp-rd-") -> Iterator[Path]:
    """A fresh BLUEPLANE_HOME (short path: unix sockets) for a whole test module."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BLUEPLANE_HOME", str(path))
        mp.delenv("BLUEPLANE_REDIS_URL", raising=False)
        mp.delenv("BLUEPLANE_PRIVACY_MODE", raising=False)
        try:
            yield path
        finally:
            from blueplane_pipeline.runtime import redis_server

            redis_server.stop()
            shutil.rmtree(path, ignore_errors=True)


def refresh_tables(db_path: Path) -> None:
    """What the token_usage and analytics assets do, in order."""
    from blueplane_pipeline.analytics.refresh import refresh_all
    from blueplane_pipeline.analytics.search_index import refresh_search_index
    from blueplane_pipeline.core.pricing import load_price_table
    from blueplane_pipeline.storage.db import open_db
    from blueplane_pipeline.usage.store import refresh

    conn = open_db(db_path)
    try:
        refresh(conn, load_price_table())
        refresh_all(conn)
        refresh_search_index(conn)
    finally:
        conn.close()


def build_from_fixtures(home: Path) -> Path:
    """Import the fixture transcripts through Redis + ingest, then derive the tables."""
    from blueplane_pipeline.core import config
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.run import run_import

    redis_server.start()
    try:
        result = run_import("claude_code", [CLAUDE_HOME], db_path=config.db_path())
    finally:
        redis_server.stop()
    assert result.ingested.events_stored > 0  # type: ignore[union-attr]
    refresh_tables(config.db_path())
    return config.db_path()


def file_digest(db_path: Path) -> dict[str, str]:
    """Hashes of the database and its WAL: unchanged means nothing was written. (A reader
    of a WAL database creates an empty -wal file and the -shm index; neither is data.)"""
    out = {}
    for suffix in ("", "-wal"):
        path = Path(f"{db_path}{suffix}")
        if path.exists() and path.stat().st_size:
            out[suffix or "db"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def make_schema_v1_db(db_path: Path) -> None:
    """A file as the first release left it: only the raw-event tables (schema v1)."""
    import sqlite3

    from blueplane_pipeline.storage.migrations import MIGRATIONS, _statements

    conn = sqlite3.connect(db_path)
    number, script = MIGRATIONS[0]
    for statement in _statements(script):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version={number}")
    conn.commit()
    conn.close()
