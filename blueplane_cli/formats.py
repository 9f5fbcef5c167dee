"""Rendering report rows as a rich table, JSON or CSV, and trends as plotext charts.

Every report builds plain rows (dicts) and hands them here, so ``--format`` behaves the
same everywhere: ``json`` and ``csv`` carry raw values for scripts, ``table`` shows them
humanised for people.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence

import click

FORMATS = ("table", "json", "csv")


def format_options(func: Callable) -> Callable:
    """``--format table|json|csv`` and ``--json`` (an alias of ``--format json``)."""
    func = click.option("--json", "as_json", is_flag=True,
                        help="Same as --format json.")(func)
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format.")(func)


def chosen(fmt: str, as_json: bool) -> str:
    return "json" if as_json else fmt


# --------------------------------------------------------------------------- humanising

# Short column headings for tables (JSON and CSV keep the column names).
LABELS = {
    "latency_p50_ms": "p50", "latency_p95_ms": "p95", "latency_p99_ms": "p99",
    "latency_max_ms": "max", "error_rate": "err %", "acceptance_rate": "accept %",
    "interruption_rate": "intr %", "rejection_rate": "rej %", "user_modified_share": "mod %",
    "total_tokens": "tokens", "cost_usd": "cost", "tool_calls": "calls",
    "tool_errors": "errors", "tool_rejected": "rejected", "lines_added": "+lines",
    "lines_removed": "-lines", "edits_accepted": "accepted", "edits_rejected": "rejected",
    "duration_s": "duration", "active_s": "active", "project_name": "project",
    "primary_model": "model", "started_at": "started",
}
WRAPPED = frozenset({"title", "prompt", "prompt_text", "file_path", "detail", "error_text",
                     "query", "description", "snippet"})
LEFT = frozenset({"key", "metric", "session_id", "platform", "project_name", "project",
                  "tool_name", "tool", "model", "primary_model", "started_at", "status",
                  "kind", "severity", "subject", "day", "file_ext", "error_class", "setting",
                  "source", "at", "trend", "value", "default"})


def human(name: str, value: object) -> str:
    """One cell for people: rates as %, latencies in ms/s, money in $, big counts short."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if name.endswith(("_rate", "_share")):
            return f"{value * 100:.1f}%"
        if name.endswith("_ms"):
            return f"{value:,.0f}ms" if value < 1000 else f"{value / 1000:,.1f}s"
        if name.endswith("_s"):
            return duration(value)
        if "cost" in name or name.endswith("_usd"):
            return f"${value:,.2f}"
        if "tokens" in name:
            return compact(value)
        if isinstance(value, float) and not value.is_integer():
            return f"{value:,.3g}"
        return f"{int(value):,}"
    return str(value)


def compact(n: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:,.0f}"


def duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m {seconds % 60:02.0f}s"
    return f"{seconds // 3600:.0f}h {seconds % 3600 // 60:02.0f}m"


def trend(name: str, change: dict) -> str:
    """``▲ 12%`` (rates: ``▲ 1.5pp``) in rich markup: green for good news, red for bad."""
    good = change["good"]
    if name.endswith(("_rate", "_share")):
        delta = change["delta"]
        if delta is None:
            return "–"
        text = f"{'▲' if delta > 0 else '▼' if delta < 0 else '='} {abs(delta) * 100:.1f}pp"
    else:
        rel = change["change"]
        if rel is None:
            return "–"
        arrow = "▲" if rel > 0 else "▼" if rel < 0 else "="
        text = f"{arrow} {abs(rel) * 100:.0f}%" if abs(rel) < 10 else f"{arrow} {rel + 1:.0f}×"
    if good is None:
        return text
    return f"[{'green' if good else 'red'}]{text}[/]"


def span_label(window) -> str:
    """A ``read.periods.Window`` for people: ``2026-11-19 → 2026-11-25 UTC``."""
    if not window.start:
        return "all data"
    if window.whole_days:
        from datetime import date, timedelta

        last = date.fromisoformat(window.end_day) - timedelta(days=1)
        return f"{window.start_day} → {last.isoformat()} UTC"
    return (f"{window.start[:16].replace('T', ' ')} → "
            f"{window.end[:16].replace('T', ' ')} UTC")


def window_dict(window) -> dict | None:
    if window is None:
        return None
    return {"label": window.label, "start": window.start, "end": window.end}


# ------------------------------------------------------------------------------- output


def emit(rows: Sequence[dict], columns: Sequence[str], fmt: str, *, title: str = "",
         labels: dict[str, str] | None = None, raw: object = None,
         cells: Callable[[str, object], str] = human, footer: str | None = None) -> None:
    """Print ``rows`` (only ``columns``) as a table, JSON (``raw`` if given) or CSV."""
    if fmt == "json":
        data = raw if raw is not None else [{c: r.get(c) for c in columns} for r in rows]
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    labels = {**LABELS, **(labels or {})}
    body = [[cells(c, r.get(c)) for c in columns] for r in rows]
    headers = [labels.get(c, c.replace("_", " ")) for c in columns]
    console = Console()
    keep = fit_columns(columns, headers, body, console.width)
    t = Table(title=title or None, title_justify="left", box=box.SIMPLE_HEAD,
              title_style="bold")
    for i in keep:
        c = columns[i]
        wraps = c in WRAPPED
        # Numbers keep their full width; only free-text columns give way on narrow screens.
        widest = max((len(line[i]) for line in body), default=0)
        t.add_column(headers[i], no_wrap=not wraps,
                     min_width=None if wraps else max(widest, len(headers[i])),
                     overflow="fold" if wraps else "ellipsis",
                     justify="left" if wraps or c in LEFT else "right")
    for line in body:
        t.add_row(*(line[i] for i in keep))
    console.print(t)
    hidden = [headers[i] for i in range(len(columns)) if i not in keep]
    if hidden:
        console.print(f"[dim]{', '.join(hidden)} hidden to fit {console.width} columns "
                      "(a wider terminal, or --format csv/json, shows them)[/]")
    if footer:
        console.print(footer)


# What a narrow terminal drops first; columns not named here go last, rightmost first.
DROP_FIRST = ("active_s", "duration_s", "lines_removed", "lines_added", "interruption_rate",
              "user_modified_share", "prompts", "platform", "primary_model", "acceptance_rate",
              "project_name", "started_at")
WRAPPED_MIN = 20  # a free-text column shrinks to this before any column is dropped
_GAP = 2  # the table's padding between two columns


def fit_columns(columns: Sequence[str], headers: Sequence[str], body: Sequence[Sequence[str]],
                width: int) -> list[int]:
    """Indices of the columns to show in ``width`` characters: every number at its full
    width, free text shrunk first, then whole columns dropped by ``DROP_FIRST`` (never
    truncating a value)."""
    from rich.cells import cell_len

    need = [max([cell_len(headers[i])] + [cell_len(r[i]) for r in body])
            for i in range(len(columns))]
    floor = [min(n, WRAPPED_MIN) if c in WRAPPED else n for c, n in zip(columns, need,
                                                                          strict=True)]
    keep = list(range(len(columns)))

    def total(idx: list[int]) -> int:
        return sum(floor[i] for i in idx) + _GAP * len(idx) + 2

    order = [columns.index(c) for c in DROP_FIRST if c in columns]
    order += [i for i in reversed(range(1, len(columns))) if i not in order]
    for i in order:
        if total(keep) <= width or len(keep) <= 1:
            break
        keep.remove(i)
    return keep


# -------------------------------------------------------------------------------- charts


def chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
          width: int | None = None, height: int = 15) -> str:
    """A plotext bar chart of one series, as text (missing values drawn as 0)."""
    import plotext

    fig = plotext.figure
    fig.clear()
    fig.theme("colorless")
    fig.plot_size(width or min(120, max(40, 6 * len(labels) + 20)), height)
    fig.title(title)
    fig.draw(fig.bar([str(x) for x in labels], [v or 0 for v in values]))
    return fig.build().string()
