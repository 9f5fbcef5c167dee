"""Opening ``telemetry.db`` for reading, the errors readers raise, and the one adapter that
turns them into whatever a front end shows (the CLI's ``Error:`` line, the MCP server's
``ToolError``).

Every message is one line saying what is wrong and what to run: no database yet, the
analytics not built, a file from an older schema, a bad period or date.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from blueplane_pipeline.storage.db import check_readable, connect, existing_tables, schema_version


class ReadError(Exception):
    """What a reader cannot answer, as one line for people (the family front ends catch)."""


class NoData(ReadError):
    """Nothing to report yet: no database, analytics not built, an older schema."""


class BadRequest(ReadError, ValueError):
    """The question itself is wrong: an unknown period, date, grouping, table or platform."""


def open_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection to ``telemetry.db``; ``NoData`` when there is none."""
    path = Path(path)
    if not path.exists():
        raise NoData(f"no database at {path} yet: capture or import some sessions, then run "
                     "`blueplane ingest`")
    conn = connect(path, readonly=True)
    try:
        check_readable(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NoData(f"{path} is not a readable Blueplane database ({exc})") from None
    return conn


def require(conn: sqlite3.Connection, *tables: str) -> None:
    """Raise ``NoData`` naming what is missing when the analytics tables are not built."""
    missing = [t for t in tables if t not in existing_tables(conn)]
    if missing:
        raise NoData(f"table {', '.join(missing)} not built yet (database schema "
                     f"v{schema_version(conn)}): run `blueplane refresh` (or `blueplane up`) "
                     "to compute the analytics")


def has_rows(conn: sqlite3.Connection, table: str) -> bool:
    """Whether ``table`` exists and holds at least one row."""
    return table in existing_tables(conn) and conn.execute(
        f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None


def unreadable(conn: sqlite3.Connection, path: Path | str,
               exc: sqlite3.DatabaseError) -> NoData:
    """A query the file cannot answer: mostly a column or table of a newer schema missing."""
    try:
        version = f"; schema v{schema_version(conn)}"
    except sqlite3.DatabaseError:
        version = ""
    return NoData(f"cannot read {path} ({exc}{version}): run `blueplane refresh` (or "
                  "`blueplane up`) to migrate and rebuild the analytics")


@contextmanager
def answering(fail: Callable[[str], NoReturn]) -> Iterator[None]:
    """Run a block whose ``ReadError`` becomes ``fail(message)`` (which must raise or exit):
    the one place a front end turns the read API's errors into its own."""
    try:
        yield
    except ReadError as exc:
        fail(str(exc))


@contextmanager
def reading(path: Path | str, fail: Callable[[str], NoReturn]) -> Iterator[sqlite3.Connection]:
    """A read-only connection for one answer, under :func:`answering`; a query the file's
    schema cannot answer becomes a ``NoData`` saying so."""
    with answering(fail):
        conn = open_reader(path)
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            raise unreadable(conn, path, exc) from None
        finally:
            conn.close()
