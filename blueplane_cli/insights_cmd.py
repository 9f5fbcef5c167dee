"""``blueplane insights``: the findings the analytics computed, each with its evidence."""

from __future__ import annotations

import contextlib
import json

import click

from blueplane_cli.formats import chosen, emit, format_options, human
from blueplane_cli.reading import note, reader

SHOWN = ("severity", "subject", "title", "metric_value", "baseline_value")


def _value(kind: str, value: object) -> str:
    """Insights mix units; the kind says which."""
    if value is None:
        return "–"
    if kind in ("tool_error_jump", "tool_error_rate", "file_type_rejections"):
        return human("x_rate", value)
    if kind == "slow_tool":
        return human("x_ms", value)
    if kind == "costly_session":
        return human("cost_usd", value)
    return human("count", value)


def _short(subject: object) -> str:
    text = "" if subject is None else str(subject)
    return text if len(text) <= 20 else text[:19] + "…"


@click.command()
@click.option("--kind", help="Only this kind (e.g. slow_tool, tool_error_jump).")
@click.option("--severity", type=click.Choice(("warn", "info")), help="Only this severity.")
@click.option("--verbose", "-v", is_flag=True, help="Show how each was computed and its SQL.")
@format_options
def insights(kind: str | None, severity: str | None, verbose: bool, fmt: str,
             as_json: bool) -> None:
    """Findings from the analytics (error jumps, slow tools, costly sessions...)."""
    from blueplane_pipeline.read.insights import list_insights

    fmt = chosen(fmt, as_json)
    with reader() as conn:
        rows = list_insights(conn, kind=kind, severity=severity)
    if fmt == "json":
        for r in rows:
            with contextlib.suppress(TypeError, ValueError):
                r["evidence"] = json.loads(r["evidence"])
        emit(rows, [], fmt, raw=rows)
        return
    if fmt == "csv":
        emit(rows, list(rows[0]) if rows else ["insight_id"], fmt)
        return
    if not rows:
        note("No insights yet: they appear once there is enough history (see "
             "docs/metrics.md); run `blueplane refresh` after new sessions.")
        return
    shown = [dict(r, metric_value=_value(r["kind"], r["metric_value"]),
                  baseline_value=_value(r["kind"], r["baseline_value"]),
                  severity="[red]warn[/]" if r["severity"] == "warn" else r["severity"],
                  subject=_short(r["subject"]))
             for r in rows]
    emit(shown, SHOWN, fmt, title=f"Insights ({len(rows)})",
         labels={"metric_value": "value", "baseline_value": "baseline", "window_end": "as of"},
         cells=lambda c, v: "–" if v is None else str(v))
    if verbose:
        from rich.console import Console

        console = Console()
        for r in rows:
            console.print(f"\n[bold]{r['title']}[/]  ({r['insight_id']})")
            console.print(r["detail"])
            console.print(f"[dim]{r['query']}[/]", markup=True)
