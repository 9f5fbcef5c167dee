"""What a report is restricted to: a platform, a project, a time window.

A project is named by its full path or its last path component (``--project app``).
Platform names come from the registry (``core.platforms``), so an assistant registered
there is a valid filter everywhere.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from blueplane_pipeline.core.platforms import assistant_names
from blueplane_pipeline.read.connect import BadRequest, require
from blueplane_pipeline.read.periods import Window
from blueplane_pipeline.read.sql import Where

# When a tool call happened (a call seen only by its outcome has no start).
CALL_TIME = "coalesce(started_at, ended_at)"
# Calls that did not succeed.
FAILED = "status IN ('error', 'rejected', 'interrupted')"


@dataclass(frozen=True)
class Filters:
    platform: str | None = None
    project: str | None = None  # a project name or full path


NO_FILTERS = Filters()


def check_platform(name: str | None) -> str | None:
    """``name`` if it is a registered assistant (or empty: no filter), else ``BadRequest``."""
    if not name:
        return None
    known = assistant_names()
    if name not in known:
        raise BadRequest(f"unknown platform {name!r}: use one of {', '.join(known)}")
    return name


def project_paths(conn: sqlite3.Connection, project: str) -> list[str]:
    """The project paths a user's ``--project`` names (exact path or last component)."""
    rows = conn.execute(
        "SELECT DISTINCT project_path FROM sessions WHERE project_path = ? OR project_name = ?",
        (project, project)).fetchall()
    return [r[0] for r in rows]


def project_names(conn: sqlite3.Connection) -> list[str]:
    """Known project names (last path component), most sessions first."""
    require(conn, "sessions")
    return [r[0] for r in conn.execute(
        "SELECT project_name FROM sessions WHERE project_name != '' GROUP BY project_name"
        " ORDER BY count(*) DESC, project_name")]


def unknown_project(conn: sqlite3.Connection, project: str | None) -> str | None:
    """A line saying ``project`` matches no session, with the closest known names; ``None``
    when it matches (or no project was asked for)."""
    if not project or project_paths(conn, project):
        return None
    import difflib

    names = project_names(conn)
    close = difflib.get_close_matches(project, names, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else (
        f"; known projects: {', '.join(sorted(names)[:10])}" if names else
        " (no sessions recorded yet)")
    return f"no project named {project!r}{hint}"


def add_filters(where: Where, conn: sqlite3.Connection, filters: Filters, *,
                platform_col: str | None = "platform", project_col: str = "project_path",
                via_session: bool = False) -> Where:
    """Add platform/project conditions; ``via_session`` filters through ``sessions``."""
    paths = project_paths(conn, filters.project) if filters.project else None
    if via_session and (filters.platform or paths is not None):
        sub = Where()
        if filters.platform:
            sub.add("platform = ?", filters.platform)
        if paths is not None:
            sub.add_in("project_path", paths)
        where.add(f"session_id IN (SELECT session_id FROM sessions{sub.sql()})", *sub.params)
        return where
    if filters.platform and platform_col:
        where.add(f"{platform_col} = ?", filters.platform)
    if paths is not None:
        where.add_in(project_col, paths)
    return where


def add_window(where: Where, window: Window, *, day_col: str = "day",
               ts_expr: str | None = None) -> Where:
    """Restrict to ``window``: by day for whole-day windows, else by time (day prunes first)."""
    if window.start:
        where.add(f"{day_col} >= ?", window.start_day)
    if window.end:
        where.add(f"{day_col} {'<' if window.whole_days else '<='} ?", window.end_day)
    if not window.whole_days and ts_expr:
        if window.start:
            where.add(f"{ts_expr} >= ?", window.start)
        if window.end:
            where.add(f"{ts_expr} < ?", window.end)
    return where


def scoped(conn: sqlite3.Connection, window: Window, filters: Filters, *,
           ts_expr: str | None = None) -> Where:
    """The conditions of the usual report: ``window`` (by day, then ``ts_expr``) and
    ``filters`` on the table's own platform and project columns."""
    return add_filters(add_window(Where(), window, ts_expr=ts_expr), conn, filters)

