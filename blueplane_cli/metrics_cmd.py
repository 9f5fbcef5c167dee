"""``blueplane metrics``: the key numbers of a period, with trends vs the period before."""

from __future__ import annotations

import click

from blueplane_cli.formats import (
    chart,
    chosen,
    emit,
    format_options,
    human,
    span_label,
    trend,
    window_dict,
)
from blueplane_cli.reading import (
    PlatformChoice,
    complete_period,
    complete_projects,
    note,
    reader,
)
from blueplane_pipeline.read.summary import GROUP_BYS, METRICS

SHOWN = (
    "sessions", "prompts", "active_s", "tool_calls", "tool_errors", "error_rate",
    "interruption_rate", "edits_accepted", "edits_rejected", "acceptance_rate",
    "user_modified_share", "lines_added", "lines_removed", "latency_p50_ms", "latency_p95_ms",
    "latency_p99_ms", "total_tokens", "cost_usd",
)
GROUP_COLUMNS = ("key", "sessions", "tool_calls", "error_rate", "acceptance_rate",
                 "latency_p95_ms", "total_tokens", "cost_usd")
TOOL_COLUMNS = ("key", "tool_calls", "error_rate", "acceptance_rate", "latency_p50_ms",
                "latency_p95_ms", "latency_p99_ms")


@click.command()
@click.option("--period", "-p", default="7d", show_default=True,
              shell_complete=complete_period,
              help="1h, 24h (rolling), 7d, 30d (UTC days up to today), <N>h, <N>d or all.")
@click.option("--platform", type=PlatformChoice(), help="Only this assistant.")
@click.option("--project", shell_complete=complete_projects,
              help="Only this project (name or full path).")
@click.option("--group-by", type=click.Choice(GROUP_BYS),
              help="One row per day, model, tool, project or platform.")
@click.option("--chart", "draw", is_flag=True,
              help="Draw a bar chart (per day unless --group-by says otherwise).")
@click.option("--chart-metric", default="tool_calls", show_default=True,
              help="Metric the chart draws, e.g. sessions, acceptance_rate, cost_usd.")
@format_options
def metrics(period: str, platform: str | None, project: str | None, group_by: str | None,
            draw: bool, chart_metric: str, fmt: str, as_json: bool) -> None:
    """Key metrics for a period, with trend arrows against the period before."""
    from blueplane_pipeline.read import backlog, filters, periods, summary

    fmt = chosen(fmt, as_json)
    if chart_metric not in METRICS:
        raise click.BadParameter(f"use one of {', '.join(METRICS)}",
                                 param_hint="--chart-metric")
    if draw and not group_by:
        group_by = "day"
    only = filters.Filters(platform, project)
    with reader() as conn:
        window, previous = periods.parse_period(period)
        if project and not filters.project_paths(conn, project):
            note(f"no sessions in a project named {project!r} (see `blueplane sessions`)")
        if group_by:
            rows = summary.aggregate(conn, window, only, group_by)
            _grouped(rows, window, group_by, fmt, draw, chart_metric)
            return
        current = summary.summary(conn, window, only)
        before = summary.summary(conn, previous, only) if previous else None
        lag = backlog.analytics_backlog(conn)
        from blueplane_pipeline.read.otel import otel_lines, otel_summary

        otel = otel_summary(conn, window, only)
    changes = summary.compare(current, before)
    if fmt == "json":
        emit([], [], fmt, raw={"period": period, "window": window_dict(window),
                               "previous_window": window_dict(previous),
                               "filters": {"platform": platform, "project": project},
                               "metrics": current, "previous": before,
                               "change": {k: v["change"] for k, v in changes.items()},
                               "otel": otel, "backlog": lag})
        return
    rows = [{"metric": name, "value": current[name],
             "previous": before[name] if before else None,
             "change": changes[name]["change"], "trend": changes[name]}
            for name in SHOWN]
    if fmt == "csv":
        emit(rows, ("metric", "value", "previous", "change"), fmt)
        return
    span = span_label(window)
    shown = [{"metric": r["metric"], "value": human(r["metric"], r["value"]),
              "previous": human(r["metric"], r["previous"]),
              "trend": trend(r["metric"], r["trend"])} for r in rows]
    emit(shown, ("metric", "value", "previous", "trend") if before else ("metric", "value"),
         fmt, title=f"Metrics · {period} ({span})", cells=lambda _c, v: v,
         labels={"previous": previous.label if previous else ""})
    if fmt != "csv":
        for line in otel_lines(otel):
            click.echo(line)
    if not current["sessions"] and not current["tool_calls"] and not current["prompts"]:
        note(f"No activity in this window ({span}). Try --period all, or check "
             "`blueplane status` that capture is running.")
    lag_note = backlog.backlog_note(lag)
    if lag_note:
        note(lag_note)


def _grouped(rows: list[dict], window, group_by: str, fmt: str, draw: bool,
             metric: str) -> None:
    columns = TOOL_COLUMNS if group_by == "tool" else GROUP_COLUMNS
    if fmt == "json":
        emit(rows, columns, fmt, raw=[dict(r, **{group_by: r["key"]}) for r in rows])
        return
    if fmt == "csv":
        emit([dict(r, **{group_by: r["key"]}) for r in rows], (group_by, *METRICS), fmt)
        return
    if group_by == "project":  # the last path component reads better in a table
        rows = [dict(r, key=str(r["key"]).rstrip("/").rsplit("/", 1)[-1] or "(unknown)")
                for r in rows]
    emit(rows, columns, fmt, labels={"key": group_by},
         title=f"Metrics by {group_by} · {window.label} ({span_label(window)})")
    if not rows:
        note("No activity in this window. Try --period all.")
    if draw and rows:
        labels = [str(r["key"])[5:] if group_by == "day" else str(r["key"]) for r in rows]
        click.echo(chart(labels, [r.get(metric) for r in rows],
                         title=f"{metric} by {group_by}"))
