"""Opening the database for a report: read-only, and one clear line when there is nothing.

Every report command reads through :func:`reader`, so "no database yet", "analytics not
built yet" and "database from an older schema" read the same everywhere and never end in
a traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import click

from blueplane_cli.output import fail

PLATFORMS = ("claude_code", "cursor")
PERIODS = ("1h", "24h", "7d", "30d", "90d", "all")


@contextmanager
def reader() -> Iterator[sqlite3.Connection]:
    """A read-only connection to ``telemetry.db``; failures become one ``Error:`` line."""
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read import queries

    try:
        conn = queries.open_reader(config.db_path())
    except queries.NoData as exc:
        fail(str(exc))
    try:
        yield conn
    except queries.NoData as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc))
    except sqlite3.OperationalError as exc:
        fail(f"cannot read {config.db_path()} ({exc}): if the schema is older, run "
             "`blueplane refresh` to migrate and rebuild the analytics")
    finally:
        conn.close()


def note(message: str) -> None:
    """A hint for people (stderr, so JSON/CSV on stdout stays clean)."""
    click.echo(message, err=True)


def backlog_note(backlog: dict) -> str | None:
    """One line when the analytics lag behind what is stored, else ``None``."""
    from blueplane_pipeline.read.queries import BACKLOG_CAP

    events, days = backlog.get("events_waiting"), backlog.get("days_waiting")
    parts = []
    if events:
        parts.append(f"{events:,}{'+' if events >= BACKLOG_CAP else ''} stored events")
    if days:
        parts.append(f"{days:,} days of rollups")
    if not parts:
        return None
    return (f"Not yet in these numbers: {' and '.join(parts)} waiting for the analytics. "
            "They catch up when the pipeline refreshes (blueplane up); if they do not, "
            "check `blueplane status` or run `blueplane refresh`.")


def complete_period(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    return [p for p in PERIODS if p.startswith(incomplete)]


def complete_projects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion for ``--project``: project names seen in ``sessions``."""
    return _complete("SELECT DISTINCT project_name FROM sessions WHERE project_name LIKE ?"
                     " ORDER BY 1 LIMIT 50", incomplete)


def complete_sessions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion for a SESSION argument: newest matching session ids."""
    return _complete("SELECT session_id FROM sessions WHERE session_id LIKE ?"
                     " ORDER BY started_at DESC LIMIT 50", incomplete)


def _complete(sql: str, incomplete: str) -> list[str]:
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read import queries

    try:
        conn = queries.open_reader(config.db_path())
        try:
            return [r[0] for r in conn.execute(sql, (incomplete.replace("%", "") + "%",))]
        finally:
            conn.close()
    except (queries.NoData, sqlite3.Error):
        return []


def parse_rate(value: str | None) -> float | None:
    """``0.8``, ``80`` or ``80%`` -> 0.8."""
    if value is None:
        return None
    text = value.strip().rstrip("%")
    try:
        number = float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a rate (use 0.8 or 80%)") from None
    rate = number / 100 if value.strip().endswith("%") or number > 1 else number
    if not 0 <= rate <= 1:
        raise click.BadParameter(f"{value!r} is not between 0 and 100%")
    return rate
