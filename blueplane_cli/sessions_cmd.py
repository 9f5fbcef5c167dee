"""``blueplane sessions``: the session list, newest first, with filters and paging."""

from __future__ import annotations

import click

from blueplane_cli.formats import chosen, emit, format_options, human
from blueplane_cli.reading import PlatformChoice, complete_projects, note, parse_rate, reader

SHOWN = ("session_id", "project_name", "started_at", "duration_s", "prompts", "tool_calls",
         "acceptance_rate", "cost_usd", "title")


def _cell(column: str, value: object) -> str:
    if column == "session_id" and value:
        return str(value)[:8]
    if column == "started_at" and value:
        return str(value)[5:16].replace("T", " ")
    if column == "platform" and value:
        from blueplane_pipeline.core import platforms

        found = platforms.get(str(value))  # the short name: claude, cursor, codex, …
        return found.cli_name.split("-")[0] if found is not None else str(value)
    if column == "title" and value:
        text = " ".join(str(value).split())
        return text[:48] + ("…" if len(text) > 48 else "")
    return human(column, value)


@click.command()
@click.option("--platform", type=PlatformChoice(), help="Only this assistant.")
@click.option("--project", shell_complete=complete_projects,
              help="Only this project (name or full path).")
@click.option("--since", help="Started on or after this day/time (YYYY-MM-DD or ISO-8601).")
@click.option("--until", help="Started before the end of this day / before this time.")
@click.option("--min-acceptance", help="Only sessions with an edit acceptance rate of at "
              "least this (0.8 or 80%).")
@click.option("--limit", "-n", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@format_options
def sessions(platform: str | None, project: str | None, since: str | None, until: str | None,
             min_acceptance: str | None, limit: int, offset: int, fmt: str,
             as_json: bool) -> None:
    """List sessions, newest first (filters, limit/offset paging)."""
    from blueplane_pipeline.read.filters import Filters
    from blueplane_pipeline.read.periods import parse_when
    from blueplane_pipeline.read.sessions import SESSION_LIST_COLUMNS, list_sessions

    fmt = chosen(fmt, as_json)
    rate = parse_rate(min_acceptance)
    with reader() as conn:
        start = parse_when(since) if since else None
        end = parse_when(until, end_of_day=True) if until else None
        rows, total = list_sessions(
            conn, Filters(platform, project), since=start, until=end,
            min_acceptance=rate, limit=limit, offset=offset)
    if fmt == "json":
        emit(rows, SESSION_LIST_COLUMNS, fmt,
             raw={"total": total, "offset": offset, "limit": limit, "sessions": rows})
        return
    if fmt == "csv":
        emit(rows, SESSION_LIST_COLUMNS, fmt)
        return
    if not total:
        note("No sessions match." if (platform or project or since or until or rate is not None)
             else "No sessions yet: capture some (blueplane install) or import transcripts "
                  "(blueplane import), then blueplane refresh.")
        return
    shown = f"{offset + 1}–{offset + len(rows)} of {total}" if rows else f"none of {total}"
    more = (f" · next page: --offset {offset + limit}" if offset + limit < total else "")
    emit(rows, SHOWN, fmt, title=f"Sessions ({shown})", cells=_cell,
         footer=f"[dim]Ids are shortened; `blueplane analyze <id prefix>` opens one{more}[/]")
