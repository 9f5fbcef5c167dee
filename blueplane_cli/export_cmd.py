"""``blueplane export``: analytics tables to JSON, CSV, Parquet or Markdown files."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import IO

import click

from blueplane_cli.output import fail
from blueplane_cli.reading import reader

EXPORT_FORMATS = ("json", "csv", "parquet", "markdown")
SUFFIX = {"json": ".json", "csv": ".csv", "parquet": ".parquet", "markdown": ".md"}


def _tables() -> tuple[str, ...]:
    from blueplane_pipeline.read.export import EXPORT_TABLES

    return (*EXPORT_TABLES, "all")


@click.command()
@click.argument("table", type=click.Choice(_tables()))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="json",
              show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="File to write (a directory for `all`); default: stdout, or "
                   "./blueplane-export/ for `all`.")
@click.option("--since", help="First day to include (YYYY-MM-DD, UTC).")
@click.option("--until", help="Last day to include (YYYY-MM-DD, UTC).")
@click.option("--anonymize", is_flag=True,
              help="Replace ids, paths and project names with stable hashes; drop free text.")
@click.option("--salt", default="", help="Secret mixed into --anonymize hashes.")
def export(table: str, fmt: str, output: Path | None, since: str | None, until: str | None,
           anonymize: bool, salt: str) -> None:
    """Export a table (or all) as JSON, CSV, Parquet or Markdown, optionally anonymized."""
    from blueplane_cli.anonymize import Anonymizer
    from blueplane_pipeline.read.export import exportable_tables, iter_table
    from blueplane_pipeline.read.periods import parse_when

    anon = Anonymizer(salt) if anonymize else None
    with reader() as conn:
        since_day = parse_when(since)[:10] if since else None
        until_day = parse_when(until)[:10] if until else None
        if table == "all":
            folder = output or Path("blueplane-export")
            _make_dir(folder)
            names = exportable_tables(conn)
            written = []
            for name in _progress(names, "Exporting"):
                columns, rows = iter_table(conn, name, since_day=since_day,
                                           until_day=until_day)
                path = folder / f"{name}{SUFFIX[fmt]}"
                count = write(fmt, columns, _anon(anon, columns, rows), path)
                written.append((name, count, path))
            for name, count, path in written:
                click.echo(f"{name}: {count:,} rows -> {path}", err=True)
            return
        columns, rows = iter_table(conn, table, since_day=since_day, until_day=until_day)
        if fmt == "parquet" and output is None:
            fail("parquet needs a file: add --output FILE.parquet")
        count = write(fmt, columns, _anon(anon, columns, rows), output)
    if output is not None:
        click.echo(f"{table}: {count:,} rows -> {output}", err=True)


def _anon(anon, columns: Sequence[str], rows: Iterable[Sequence]) -> Iterable[Sequence]:
    if anon is None:
        return rows
    return (anon.row(columns, r) for r in rows)


def _make_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create {folder}: {exc.strerror}")


def _progress(items: list[str], label: str) -> Iterable[str]:
    from rich.progress import track

    return track(items, description=label, console=_stderr_console(), transient=True)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def write(fmt: str, columns: Sequence[str], rows: Iterable[Sequence],
          path: Path | None) -> int:
    """Write rows in ``fmt`` to ``path`` (stdout when ``None``); return how many."""
    if fmt == "parquet":
        return _parquet(columns, rows, path)  # type: ignore[arg-type]
    try:
        ctx = path.open("w", newline="", encoding="utf-8") if path else nullcontext(sys.stdout)
        with ctx as fh:
            return {"json": _json, "csv": _csv, "markdown": _markdown}[fmt](columns, rows, fh)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
        return 0


def _json(columns: Sequence[str], rows: Iterable[Sequence], fh: IO[str]) -> int:
    count = 0
    fh.write("[")
    for row in rows:
        fh.write(",\n " if count else "\n ")
        fh.write(json.dumps(dict(zip(columns, row, strict=True)), default=str,
                            ensure_ascii=False))
        count += 1
    fh.write("\n]\n" if count else "]\n")
    return count


def _csv(columns: Sequence[str], rows: Iterable[Sequence], fh: IO[str]) -> int:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        count += 1
    return count


def _markdown(columns: Sequence[str], rows: Iterable[Sequence], fh: IO[str]) -> int:
    lines = iter(markdown_lines(columns, rows))
    fh.write(next(lines) + "\n" + next(lines) + "\n")  # heading and rule
    count = 0
    for line in lines:
        fh.write(line + "\n")
        count += 1
    return count


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence]) -> list[str]:
    return list(markdown_lines(columns, rows))


def markdown_lines(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterable[str]:
    """A GitHub-flavoured Markdown table (pipes escaped, newlines flattened)."""
    yield "| " + " | ".join(columns) + " |"
    yield "|" + "|".join("---" for _ in columns) + "|"
    for row in rows:
        yield "| " + " | ".join(md_cell(v) for v in row) + " |"


def md_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        value = f"{value:.6g}"
    return " ".join(str(value).split()).replace("|", "\\|")


def _parquet(columns: Sequence[str], rows: Iterable[Sequence], path: Path) -> int:
    """Parquet through pyarrow (not on any report path: imported only here)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        fail("parquet export needs pyarrow: pip install pyarrow")
    data = {c: [] for c in columns}
    count = 0
    for row in rows:
        for c, v in zip(columns, row, strict=True):
            data[c].append(v)
        count += 1
    try:
        table = pa.table({c: _arrow_column(pa, values) for c, values in data.items()})
        pq.write_table(table, path)
    except OSError as exc:
        fail(f"cannot write {path}: {exc}")
    return count


def _arrow_column(pa, values: list):
    """SQLite columns may mix types (it is dynamically typed): fall back to strings."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
