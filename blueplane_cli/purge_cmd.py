"""``blueplane purge --before DATE``: delete what was captured before a day (asks first)."""

from __future__ import annotations

import sys

import click

from blueplane_cli.output import emit_json, fail


@click.command()
@click.option("--before", "before", required=True, metavar="DATE",
              help="Delete everything captured before this day (YYYY-MM-DD, 00:00 UTC).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def purge(before: str, yes: bool, as_json: bool) -> None:
    """Delete raw events and derived rows before DATE (asks first; --yes to skip).

    Sessions that straddle DATE keep their later events and are rebuilt from them by the
    next `blueplane refresh` (or the running pipeline).
    """
    from blueplane_pipeline.core import config
    from blueplane_pipeline.storage import purge as purging
    from blueplane_pipeline.storage.db import open_db

    try:
        cutoff = purging.cutoff_ms(before)
    except ValueError:
        fail(f"not a date: {before!r} (use YYYY-MM-DD)")
    db = config.db_path()
    if not db.exists():
        fail(f"no database at {db}: nothing to purge")
    from blueplane_cli.reading import reader

    with reader() as conn:
        planned = purging.plan(conn, cutoff)
    if not (planned.events or planned.sessions_deleted or planned.sessions_to_rebuild
            or planned.token_rows):
        if as_json:
            emit_json({"cutoff": planned.cutoff, "events": 0})
        else:
            click.echo(f"Nothing captured before {before}.")
        return
    summary = (f"Delete {planned.events:,} raw events before {planned.cutoff} "
               f"({planned.sessions_deleted:,} sessions, {planned.token_rows:,} usage rows); "
               f"{planned.sessions_to_rebuild:,} sessions across the date keep their later "
               "events and are rebuilt.")
    if not yes:
        if not sys.stdin.isatty():
            fail(f"{summary} Not confirmed: re-run with --yes to purge without a prompt.")
        click.echo(summary)
        if not click.confirm("Purge? This cannot be undone", default=False):
            fail("nothing deleted", code=1)
    conn = open_db(db)
    try:
        stats = _run(purging, conn, cutoff, quiet=as_json)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        fail(f"purge stopped: {exc} (re-run it to finish; what was deleted stays deleted)")
    finally:
        conn.close()
    result = {k: v for k, v in vars(stats).items() if k != "rebuild_ids"}
    result.update(_purge_redis(cutoff))
    if as_json:
        emit_json(result)
        return
    click.echo(f"Purged {stats.events:,} events ({stats.blocks_deleted:,} blocks deleted, "
               f"{stats.blocks_rewritten:,} rewritten), {stats.sessions_deleted:,} sessions, "
               f"{stats.token_rows:,} usage rows in {stats.seconds:.1f}s.")
    if stats.sessions_to_rebuild or stats.days_marked:
        click.echo(f"{stats.sessions_to_rebuild:,} sessions and {stats.days_marked:,} days will "
                   "be recomputed by the next refresh (`blueplane refresh`).")
    if result.get("redis_error"):
        click.echo(f"warning: {result['redis_error']}", err=True)
    elif result.get("aof_rewritten"):
        click.echo(f"Redis: {result['dead_letters_deleted']:,} dead letters deleted, "
                   "append-only file rewritten (no purged event is left on disk).")


def _purge_redis(cutoff: int) -> dict:
    """Dead letters before the cutoff go too, and the embedded Redis rewrites its AOF, which
    otherwise keeps every event ever sent (ingested ones included) in plain text."""
    import redis

    from blueplane_pipeline.ingest import stream
    from blueplane_pipeline.runtime import redis_server

    out: dict = {"dead_letters_deleted": 0, "aof_rewritten": False}
    try:
        started = redis_server.start()
        try:
            r = stream.client(timeout=10)
            try:
                out["dead_letters_deleted"] = stream.drop_dead_letters_before(r, cutoff)
            finally:
                r.close()
            out["aof_rewritten"] = redis_server.rewrite_aof()
        finally:
            if started:
                redis_server.stop()
    except (redis.RedisError, OSError, redis_server.RedisUnavailable) as exc:
        out["redis_error"] = (f"Redis could not be cleaned ({exc}); run `blueplane purge` "
                              "again once it runs, or copies stay in its append-only file")
    return out


def _run(purging, conn, cutoff: int, quiet: bool):
    if quiet:
        return purging.purge(conn, cutoff)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("Purging blocks", total=None)
        return purging.purge(conn, cutoff,
                             progress=lambda done, total: bar.update(task, completed=done,
                                                                     total=total))
