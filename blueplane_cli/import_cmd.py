"""``blueplane import <assistant>``: bring history already on disk into telemetry.db.

Events flow through the same stream (or spool) as hook events; ingest then runs here, so
the rows are stored when the command returns. Re-runs read only what changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from blueplane_cli.output import emit_json, fail


class ImportGroup(click.Group):
    """One subcommand per registered importer, looked up when the command line is parsed
    (a platform registered at run time gets its command too)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from blueplane_pipeline.sources.importer import importers

        return sorted(importers())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from blueplane_pipeline.sources.importer import importers

        importer = importers().get(name)
        return _make_command(name, importer) if importer is not None else None


@click.group(name="import", cls=ImportGroup)
def import_() -> None:
    """Import history already on disk (one subcommand per assistant that keeps some)."""


def parse_since(value: str) -> int:
    """``YYYY-MM-DD``, ``YYYYMMDD`` or an ISO date-time (UTC unless it says otherwise) ->
    epoch milliseconds."""
    text = value.strip()
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _make_command(cli_name: str, importer) -> click.Command:
    """``blueplane import <cli_name>``: the options come from the platform's ``Importer``."""
    from blueplane_pipeline.core import platforms

    label = platforms.from_cli(cli_name).label

    def callback(dirs: tuple[Path, ...], as_json: bool, since: str | None = None) -> None:
        from blueplane_pipeline.sources.run import run_import

        since_ms = parse_since(since) if since else None
        folders = list(dirs) or importer.default_dirs()
        result = _execute(as_json, f"{label} {importer.what}", dirs, folders,
                          lambda progress: run_import(
                              cli_name, folders, since_ms=since_ms, progress=progress))
        if result is None:
            return
        for line in result.imported.summary_lines(folders):
            click.echo(line)
        if result.imported.found():
            _report_tail(result)

    params = [
        click.Option([importer.dir_option, "dirs"], multiple=True,
                     type=click.Path(path_type=Path), help=importer.dir_help),
        click.Option(["--json", "as_json"], is_flag=True, help="Print the run's figures as JSON."),
    ]
    if importer.supports_since:
        params.insert(1, click.Option(
            ["--since", "since"], metavar="DATE", default=None,
            help="Only lines on or after DATE (YYYY-MM-DD or ISO date-time, UTC)."))

    return click.Command(cli_name, params=params, callback=callback,
                         help=f"Import {label} {importer.what} already on disk.")


def _execute(as_json: bool, what: str, given: tuple[Path, ...], dirs: list[Path], work):
    """Check the given dirs, run ``work(progress)`` under a progress bar, turn failures into
    one line; print the JSON and return None for ``--json``, else return the result."""
    import sqlite3

    _log_to_files()
    missing = [str(d) for d in given if not d.is_dir()]
    if missing:
        fail(f"no such directory: {', '.join(missing)}")
    with _progress(as_json, what) as progress:
        try:
            result = work(progress)
        except KeyboardInterrupt:
            fail("interrupted: what was sent so far is kept; run the command again to "
                 "continue", 130)
        except sqlite3.Error as exc:
            fail(f"telemetry.db: {exc} (is another process migrating it? try again)")
        except OSError as exc:
            fail(f"import failed: {exc}")
    if as_json:
        emit_json({"dirs": [str(d) for d in dirs], **result.as_dict()})
        return None
    return result


def _log_to_files() -> None:
    """Warnings (e.g. Redis down) go to the log files, not between the command's lines."""
    from blueplane_pipeline.runtime import logs

    logs.setup("ingest")
    logs.setup("import")


def _report_tail(result) -> None:
    s, ing = result.imported, result.ingested
    for err in s.errors[:10]:
        click.echo(f"  skipped {err}", err=True)
    if s.to_spool:
        click.echo("note: Redis is not running; events went through the spool "
                   "(`blueplane up` starts it)", err=True)
    if ing is not None:
        click.echo(f"stored {ing.events_stored} new events in telemetry.db "
                   f"({ing.duplicates} already there)")


class _progress:
    """A rich progress bar (files, MB, events, ETA) on stderr, or nothing for ``--json``."""

    def __init__(self, quiet: bool, what: str) -> None:
        self.quiet, self.what = quiet, what
        self._bar = self._task = None

    def __enter__(self):
        if self.quiet:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn(f"importing {self.what}"), BarColumn(),
            TextColumn("{task.fields[files]} files"),
            TextColumn("{task.fields[mb]}"),
            TextColumn("{task.fields[events]} events"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._bar.start()
        self._task = self._bar.add_task("import", total=None, files="0", mb="", events=0)
        return self.update

    def update(self, stats) -> None:
        files, files_total, done, total, events = stats.progress_fields()
        mb = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        self._bar.update(self._task, completed=done, total=total or None,
                         files=f"{files}/{files_total}", mb=mb, events=events)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
