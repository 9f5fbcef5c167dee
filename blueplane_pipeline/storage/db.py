"""SQLite connections (WAL, busy timeout, one writer, read-only readers) and the few
SQLite-only statements the rest of the code needs, so they live here and nowhere else:
schema introspection, the schema version, checkpoints, integrity checks."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000
# Checkpoint the WAL every ~16 MB instead of SQLite's 4 MB: a checkpoint copies pages to
# the database file and fsyncs it, and with the random-uuid event_id index a 100-event
# batch dirties ~100 pages, so at the default one batch in ten paid for a checkpoint
# (write p95 5.5 ms -> 2.1 ms measured, the checkpoints move to p99). ingest() also
# checkpoints at the end of each run.
WAL_AUTOCHECKPOINT_PAGES = 4000
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# Page cache of a writer, KiB (SQLite's default is 2 MB). Every stored event inserts a
# random 16-byte event_id into its unique index; once the index outgrows the cache each
# insert faults pages back in. Measured with 300,000 events stored: 20.7 -> 16.7 us of
# CPU per written event (benchmarks/bench_ingest.py, docs/benchmarks.md). Filled only as
# pages are used.
WRITER_CACHE_KIB = 64 * 1024


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
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def open_db(path: Path | str) -> sqlite3.Connection:
    """A writer connection with the schema migrated to the latest version."""
    from blueplane_pipeline.storage.migrations import migrate

    conn = connect(path)
    migrate(conn)
    return conn


# The SQLite-specific questions the rest of the code asks, in one place (nothing else
# spells PRAGMA or sqlite_master, so a second engine needs only these).


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` … ``COMMIT``: the write lock taken up front (one writer at
    a time, no deadlock between two), readers keep the previous state under WAL; rolled
    back on any error. Every writer of telemetry.db takes its transactions here."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def existing_tables(conn: sqlite3.Connection, *, views: bool = False) -> set[str]:
    """Names of the tables in the database (and of its views, with ``views``)."""
    kinds = "('table', 'view')" if views else "('table')"
    return {r[0] for r in conn.execute(f"SELECT name FROM sqlite_master WHERE type IN {kinds}")}


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() \
        is not None


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """Column names of ``table``, in order (empty when there is no such table)."""
    return [row[0] for row in conn.execute(
        "SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))]


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version the file was migrated to (``storage.migrations``)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def check_readable(conn: sqlite3.Connection, *, thorough: bool = False) -> None:
    """Raise ``sqlite3.DatabaseError`` unless the file is an SQLite database (``thorough``:
    a quick integrity check, which a copy torn mid-write fails)."""
    conn.execute("PRAGMA quick_check" if thorough else "SELECT count(*) FROM sqlite_master"
                 ).fetchone()


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the database file where no reader needs it (never blocks)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def compact(conn: sqlite3.Connection) -> None:
    """Leave no copy of deleted rows anywhere in the database's files: move the WAL into
    the file and truncate it, then rebuild the file without free pages (``VACUUM``).
    Takes the write lock for as long as the rebuild lasts."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
