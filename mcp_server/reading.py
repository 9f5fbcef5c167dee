"""Opening ``telemetry.db`` for a tool: read-only, and a clear answer instead of a crash.

Missing database, analytics not built, an older schema, a bad period: each becomes a
``ToolError`` whose message says what is wrong and what to run, which the client shows
the model as the tool's (error) result.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError

from blueplane_pipeline.core import config
from blueplane_pipeline.read import queries


@contextmanager
def reading() -> Iterator[sqlite3.Connection]:
    try:
        conn = queries.open_reader(config.db_path())
    except queries.NoData as exc:
        raise ToolError(str(exc)) from None
    try:
        yield conn
    except queries.NoData as exc:
        raise ToolError(str(exc)) from None
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    except sqlite3.OperationalError as exc:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        raise ToolError(f"cannot read telemetry.db ({exc}; schema v{version}): run "
                        "`blueplane refresh` (or `blueplane up`) to migrate and rebuild the "
                        "analytics") from None
    finally:
        conn.close()


def window(period: str) -> tuple[queries.Window, queries.Window | None]:
    try:
        return queries.parse_period(period)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def filters(platform: str | None, project: str | None) -> queries.Filters:
    return queries.Filters(platform or None, project or None)


def known_project(conn: sqlite3.Connection, project: str | None) -> None:
    """A project filter that matches nothing is a mistake worth saying, with suggestions."""
    if not project or queries.project_paths(conn, project):
        return
    import difflib

    names = queries.project_names(conn)
    close = difflib.get_close_matches(project, names, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else (
        f"; known projects: {', '.join(sorted(names)[:10])}" if names else
        " (no sessions recorded yet)")
    raise ToolError(f"no project named {project!r}{hint}")


def normalise_ext(ext: str) -> str:
    """``py``, ``.PY`` or ``*.py`` -> ``.py`` (how ``file_ext`` is stored)."""
    ext = ext.strip().lower().lstrip("*")
    if not ext:
        raise ToolError("file_ext is empty: give an extension such as .py")
    return ext if ext.startswith(".") else "." + ext
