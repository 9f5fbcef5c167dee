"""Shell completion: names a person may be typing, from the database (never an error)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from blueplane_pipeline.read.connect import ReadError, open_reader
from blueplane_pipeline.read.periods import COMMON_PERIODS

_PROJECTS = ("SELECT DISTINCT project_name FROM sessions WHERE project_name LIKE ?"
             " ORDER BY 1 LIMIT 50")
_SESSIONS = ("SELECT session_id FROM sessions WHERE session_id LIKE ?"
             " ORDER BY started_at DESC LIMIT 50")


def periods(incomplete: str) -> list[str]:
    return [p for p in COMMON_PERIODS if p.startswith(incomplete)]


def projects(db_path: Path | str, incomplete: str) -> list[str]:
    """Project names seen in ``sessions`` that start with ``incomplete``."""
    return _complete(db_path, _PROJECTS, incomplete)


def sessions(db_path: Path | str, incomplete: str) -> list[str]:
    """The newest session ids that start with ``incomplete``."""
    return _complete(db_path, _SESSIONS, incomplete)


def _complete(db_path: Path | str, sql: str, incomplete: str) -> list[str]:
    try:
        conn = open_reader(db_path)
        try:
            return [r[0] for r in conn.execute(sql, (incomplete.replace("%", "") + "%",))]
        finally:
            conn.close()
    except (ReadError, sqlite3.Error):
        return []
