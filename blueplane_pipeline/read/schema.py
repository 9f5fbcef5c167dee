"""What a database file holds: its schema version and tables, and how far behind this
version of Blueplane it is."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.storage.db import existing_tables, schema_version, table_columns


def stored_tables(conn: sqlite3.Connection) -> tuple[int, dict[str, list[str]]]:
    """(schema version, every table with its columns)."""
    return schema_version(conn), {t: table_columns(conn, t) for t in existing_tables(conn)}


def schema_lag(conn: sqlite3.Connection, name: str) -> str | None:
    """A line for people when the file (``name``) predates this version's schema, else
    ``None``: some tables stay missing until the next migration."""
    from blueplane_pipeline.storage.migrations import latest_version

    version = schema_version(conn)
    if version >= latest_version():
        return None
    return (f"{name} is at schema version {version}, this Blueplane writes "
            f"{latest_version()}: some tables stay missing until `blueplane ingest` "
            "(or `blueplane up`) upgrades it")
