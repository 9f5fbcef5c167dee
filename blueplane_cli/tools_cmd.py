"""``blueplane tools``: per-tool performance — calls, outcomes, exact latency percentiles."""

from __future__ import annotations

import click

from blueplane_cli.formats import chart, chosen, emit, format_options, span_label
from blueplane_cli.reading import (
    PlatformChoice,
    complete_period,
    complete_projects,
    note,
    reader,
)

SHOWN = ("tool_name", "calls", "error_rate", "acceptance_rate",
         "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
SORTS = {"calls": "calls", "errors": "errors", "error-rate": "error_rate",
         "p50": "latency_p50_ms", "p95": "latency_p95_ms", "p99": "latency_p99_ms",
         "name": "tool_name"}


@click.command()
@click.option("--period", "-p", default="7d", show_default=True, shell_complete=complete_period,
              help="1h, 24h, 7d, 30d, <N>h, <N>d or all.")
@click.option("--platform", type=PlatformChoice(), help="Only this assistant.")
@click.option("--project", shell_complete=complete_projects, help="Only this project.")
@click.option("--tool", "tool_name", help="Only this tool.")
@click.option("--sort", type=click.Choice(tuple(SORTS)), default="calls", show_default=True)
@click.option("--limit", "-n", type=click.IntRange(1), default=30, show_default=True)
@click.option("--chart", "draw", is_flag=True, help="Bar chart of p95 latency per tool.")
@format_options
def tools(period: str, platform: str | None, project: str | None, tool_name: str | None,
          sort: str, limit: int, draw: bool, fmt: str, as_json: bool) -> None:
    """Per-tool performance: calls, error/rejection rates, p50/p95/p99 latency."""
    from blueplane_pipeline.read.filters import Filters
    from blueplane_pipeline.read.periods import parse_period
    from blueplane_pipeline.read.tools import tool_performance

    fmt = chosen(fmt, as_json)
    with reader() as conn:
        window, _ = parse_period(period)
        rows = tool_performance(conn, window, Filters(platform, project), tool=tool_name)
    key = SORTS[sort]
    if key == "tool_name":
        rows.sort(key=lambda r: r["tool_name"])
    else:
        rows.sort(key=lambda r: (r[key] is None, -(r[key] or 0), r["tool_name"]))
    rows = rows[:limit]
    if fmt != "table":
        emit(rows, list(rows[0]) if rows else list(SHOWN), fmt)
        return
    if not rows:
        note(f"No tool calls in this window ({span_label(window)}). Try --period all.")
        return
    emit(rows, SHOWN, fmt, title=f"Tools · {period} ({span_label(window)})",
         labels={"tool_name": "tool"})
    if draw:
        click.echo(chart([r["tool_name"][:12] for r in rows],
                         [r["latency_p95_ms"] for r in rows], title="p95 latency (ms) by tool"))
