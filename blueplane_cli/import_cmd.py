"""``blueplane import claude-code|cursor``: bring history already on disk into telemetry.db.

Events flow through the same stream (or spool) as hook events; ingest then runs here, so
the rows are stored when the command returns. Re-runs read only what changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from blueplane_cli.output import emit_json, fail, human_bytes


@click.group(name="import")
def import_() -> None:
    """Import history: Claude Code transcripts, Cursor's local store."""


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


@import_.command(name="claude-code")
@click.option("--claude-dir", "claude_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Claude config dir holding projects/ (repeatable). Default: "
                   "CLAUDE_CONFIG_DIR (comma-separated), else ~/.config/claude and ~/.claude.")
@click.option("--since", "since", metavar="DATE", default=None,
              help="Only lines on or after DATE (YYYY-MM-DD or ISO date-time, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
def claude_code(claude_dirs: tuple[Path, ...], since: str | None, as_json: bool) -> None:
    """Import Claude Code transcripts (subagent files included)."""
    from blueplane_pipeline.sources.claude_transcripts import config_dirs
    from blueplane_pipeline.sources.run import run_claude_import

    since_ms = parse_since(since) if since else None
    dirs = config_dirs([str(d) for d in claude_dirs] or None)
    result = _execute(as_json, "transcripts", claude_dirs, dirs, lambda progress:
                      run_claude_import(dirs, since_ms=since_ms, progress=progress))
    if result is None:
        return
    s = result.imported
    if not s.files_found:
        click.echo(f"no transcripts found under {', '.join(str(d / 'projects') for d in dirs)}")
        return
    click.echo(
        f"{s.files_found} transcript files: {s.files_read} read, {s.files_unchanged} unchanged"
        + (f", {s.files_reset} re-read (replaced or truncated)" if s.files_reset else "")
        + (f", {s.files_before_since} older than --since" if s.files_before_since else "")
        + (f", {s.files_failed} unreadable" if s.files_failed else ""))
    click.echo(
        (f"{s.events} events from {s.bytes_read / 1e6:.1f} MB in {s.seconds:.2f}s"
         if s.files_read else "nothing new")
        + (f"; {s.invalid_lines} invalid lines kept" if s.invalid_lines else "")
        + (f"; {s.unknown_types} lines of unknown types kept" if s.unknown_types else "")
        + (f"; {s.skipped_since} lines before --since skipped" if s.skipped_since else "")
        + (f"; {human_bytes(s.pending_tail_bytes)} half-written, left for the next run"
           if s.pending_tail_bytes else ""))
    _report_tail(result)


@import_.command(name="cursor")
@click.option("--cursor-dir", "cursor_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Cursor's User dir (holding workspaceStorage/ and globalStorage/), "
                   "repeatable. Default: the platform's standard location.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
def cursor(cursor_dirs: tuple[Path, ...], as_json: bool) -> None:
    """Import Cursor composers, bubbles, prompts and generations from state.vscdb."""
    from blueplane_pipeline.sources.cursor_store import default_dirs
    from blueplane_pipeline.sources.run import run_cursor_import

    dirs = list(cursor_dirs) or default_dirs()
    result = _execute(as_json, "Cursor stores", cursor_dirs, dirs, lambda progress:
                      run_cursor_import(dirs, progress=progress))
    if result is None:
        return
    s = result.imported
    if not s.databases_found:
        click.echo(f"no state.vscdb found under {', '.join(str(d) for d in dirs)}")
        return
    click.echo(
        f"{s.databases_found} Cursor databases: {s.databases_read} read, "
        f"{s.databases_unchanged} unchanged"
        + (f", {s.databases_failed} unreadable" if s.databases_failed else ""))
    click.echo(f"{s.events} events ({s.changed_items} new or changed items, "
               f"{s.unchanged_items} unchanged) in {s.seconds:.2f}s"
               + (f"; {s.invalid_items} unreadable values kept" if s.invalid_items else ""))
    _report_tail(result)


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
