"""``blueplane ingest``: the same ingest the Dagster job runs, in-process."""

from __future__ import annotations

import click

from blueplane_cli.output import emit_json, fail


@click.command()
@click.option("--max-events", type=int, default=None, help="Stop after this many events.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
def ingest(max_events: int | None, as_json: bool) -> None:
    """Drain the Redis stream and the spool into telemetry.db."""
    from blueplane_pipeline.ingest.drain import ingest as run_ingest
    from blueplane_pipeline.runtime import logs

    logs.setup("ingest")
    try:
        stats = run_ingest(max_events=max_events, trigger="cli")
    except OSError as exc:
        fail(f"ingest failed: {exc}")
    d = stats.as_dict()
    if as_json:
        emit_json(d)
        return
    if stats.redis_error:
        click.echo(f"warning: {stats.redis_error} - drained the spool only "
                   "(start Redis with `blueplane up`)", err=True)
    ratio = f"{stats.raw_bytes / stats.stored_bytes:.1f}x" if stats.stored_bytes else "-"
    click.echo(f"stored {stats.events_stored} events ({stats.duplicates} duplicates skipped, "
               f"{stats.dead_lettered} dead-lettered, {stats.spool_files} spool files) "
               f"in {d['seconds']}s; compression {ratio}; lag now {stats.lag_after}")
