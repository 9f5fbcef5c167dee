"""``blueplane search QUERY``: full-text search over every session (SQLite FTS5)."""

from __future__ import annotations

import click

from blueplane_cli.formats import chosen, emit, format_options
from blueplane_cli.output import fail
from blueplane_cli.reading import complete_projects, complete_sessions, reader

COLUMNS = (
    "score",
    "ts",
    "session_id",
    "turn_index",
    "project_name",
    "kind",
    "tool_name",
    "snippet",
)


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--project",
    "-p",
    metavar="NAME",
    shell_complete=complete_projects,
    help="Only sessions of this project (folder name or full path).",
)
@click.option(
    "--since",
    metavar="WHEN",
    help="Only text from after this: a period (24h, 7d, 30d) or a date (YYYY-MM-DD).",
)
@click.option("--tool", metavar="NAME", help="Only tool calls of this tool (Bash, Edit, …).")
@click.option(
    "--session",
    "session_id",
    metavar="SESSION",
    shell_complete=complete_sessions,
    help="Only this session (an id or a unique prefix).",
)
@click.option("--limit", "-n", type=click.IntRange(1, 500), default=20, show_default=True)
@format_options
def search(
    query: tuple[str, ...],
    project: str | None,
    since: str | None,
    tool: str | None,
    session_id: str | None,
    limit: int,
    fmt: str,
    as_json: bool,
) -> None:
    """Find text in prompts, assistant answers, tool calls (commands, files) and titles.

    Every word must occur (any form: "test" finds "tests"); put a phrase in double quotes
    to find it as written. Hits are ranked by relevance with their session, turn and time;
    open one with `blueplane analyze SESSION --turn N`. What is searchable follows the
    privacy mode: in `strict`, prompt and assistant text never are.
    """
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read import search as text_search
    from blueplane_pipeline.read.filters import project_paths, unknown_project
    from blueplane_pipeline.read.sessions import resolve_session

    fmt = chosen(fmt, as_json)
    text = " ".join(query)
    with reader() as conn:
        if text_search.query_expression(text) is None:
            fail("the query has no word to search for")
        if not text_search.has_index(conn):
            fail("the search index is not built yet: run `blueplane refresh` (or `blueplane up`)")
        paths = None
        if project:
            problem = unknown_project(conn, project)
            if problem:
                fail(problem)
            paths = project_paths(conn, project)
        if session_id:
            resolved, suggestions = resolve_session(conn, session_id)
            if resolved is None:
                hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
                fail(f"no session {session_id!r}{hint}")
            session_id = resolved
        hits = text_search.find(
            conn,
            text,
            project_paths=paths,
            since_ms=_since_ms(since),
            tool=tool,
            session_id=session_id,
            limit=limit,
            privacy_mode=config.load_settings().privacy_mode,
        )
    rows = [vars(h) | {"ts": h.ts} for h in hits]
    if fmt == "table":
        for r in rows:
            r["ts"] = r["ts"][:16].replace("T", " ")
            r["session_id"] = r["session_id"][:8]
        if not rows:
            click.echo(f"No match for {text!r}.", err=True)
            return
    emit(
        rows,
        COLUMNS,
        fmt,
        title=f"{len(rows)} hits for {text!r}",
        labels={
            "turn_index": "turn",
            "tool_name": "tool",
            "project_name": "project",
            "ts": "at",
            "session_id": "session",
        },
        raw={"query": text, "hits": rows} if fmt == "json" else None,
        cells=lambda c, v: "–" if v is None else str(v),
    )


def _since_ms(since: str | None) -> int | None:
    """``7d`` / ``24h`` (a period ending now) or a date/ISO time -> epoch ms."""
    if not since:
        return None
    from blueplane_pipeline.core.times import parse_ts_ms
    from blueplane_pipeline.read.connect import BadRequest
    from blueplane_pipeline.read.periods import parse_period, parse_when

    try:
        try:
            start = parse_period(since)[0].start
        except BadRequest:
            start = parse_when(since)
    except BadRequest as exc:
        fail(f"--since: {exc}")
    return parse_ts_ms(start) if start else None
