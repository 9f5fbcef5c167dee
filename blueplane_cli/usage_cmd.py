"""``blueplane usage daily|weekly|monthly|session|blocks``: token and cost reports.

Reads the ``token_usage`` table with plain SQL (no Dagster, no pandas). ``--json`` prints
ccusage's JSON shape and field names, so scripts written for ccusage keep working.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import click

from blueplane_cli.output import fail

NO_DATA = ("No token usage yet: import transcripts with `blueplane import claude-code` "
           "(or start the pipeline with `blueplane up`).")


def _options(func: Callable) -> Callable:
    func = click.option("--json", "as_json", is_flag=True,
                        help="ccusage-compatible JSON instead of a table.")(func)
    func = click.option("--timezone", "-z", "tz_name", default=None, metavar="TZ",
                        help="Timezone for dates, e.g. UTC or Europe/Paris (default: this "
                             "machine's).")(func)
    func = click.option("--breakdown", "-b", is_flag=True,
                        help="Add a row per model under each period.")(func)
    func = click.option("--project", "-p", default=None, metavar="NAME",
                        help="Only this project (its folder name under ~/.claude/projects, "
                             "e.g. -home-me-app).")(func)
    func = click.option("--until", "-u", default=None, metavar="DATE",
                        help="Up to and including DATE (YYYYMMDD or YYYY-MM-DD).")(func)
    func = click.option("--since", "-s", default=None, metavar="DATE",
                        help="From DATE on (YYYYMMDD or YYYY-MM-DD).")(func)
    return func


@click.group(name="usage")
def usage() -> None:
    """Token and cost reports from Claude Code transcripts (totals match ccusage)."""


def _load(grain: str, since: str | None, until: str | None, project: str | None,
          tz_name: str | None):
    from blueplane_pipeline import config
    from blueplane_pipeline.storage.db import connect
    from blueplane_pipeline.usage.store import report_rows
    from blueplane_pipeline.usage.timeframe import TimeframeError, day_bounds, resolve_timezone

    try:
        tz = resolve_timezone(tz_name)
        since_ms, until_ms = day_bounds(since, until, tz)
    except TimeframeError as exc:
        fail(str(exc))
    db = config.db_path()
    if not db.exists():
        return [], tz
    conn = connect(db, readonly=True)
    try:
        rows, _origin = report_rows(conn, grain, since_ms=since_ms, until_ms=until_ms,
                                    project=project)
    finally:
        conn.close()
    return rows, tz


def _emit(report: dict) -> None:
    click.echo(json.dumps(report, indent=2, sort_keys=True))


def _period(period: str, since, until, project, breakdown, tz_name, as_json, week_start=6):
    from blueplane_pipeline.usage.reports import period_report

    rows, tz = _load("quarter", since, until, project, tz_name)
    report = period_report(rows, period, tz, week_start=week_start)
    if as_json:
        _emit(report)
    elif not rows:
        click.echo(NO_DATA)
    else:
        label = {"daily": "Date", "weekly": "Week of", "monthly": "Month"}[period]
        key = {"daily": "date", "weekly": "week", "monthly": "month"}[period]
        title = f"Claude Code token usage, {period} ({getattr(tz, 'key', tz)})"
        _table(title, label, [(r[key], r) for r in report[period]], report, breakdown)


@usage.command()
@_options
def daily(since, until, project, breakdown, tz_name, as_json) -> None:
    """Tokens and cost per day."""
    _period("daily", since, until, project, breakdown, tz_name, as_json)


@usage.command()
@_options
@click.option("--start-of-week", "week_start", default="sunday", show_default=True,
              type=click.Choice(["monday", "tuesday", "wednesday", "thursday", "friday",
                                 "saturday", "sunday"]),
              help="Day a week starts on.")
def weekly(since, until, project, breakdown, tz_name, as_json, week_start) -> None:
    """Tokens and cost per week."""
    from blueplane_pipeline.usage.reports import WEEKDAYS

    _period("weekly", since, until, project, breakdown, tz_name, as_json,
            WEEKDAYS.index(week_start))


@usage.command()
@_options
def monthly(since, until, project, breakdown, tz_name, as_json) -> None:
    """Tokens and cost per month."""
    _period("monthly", since, until, project, breakdown, tz_name, as_json)


@usage.command()
@_options
def session(since, until, project, breakdown, tz_name, as_json) -> None:
    """Tokens and cost per session (transcript file), most expensive first."""
    from blueplane_pipeline.usage.reports import session_report

    rows, _tz = _load("session", since, until, project, tz_name)
    report = session_report(rows)
    if as_json:
        _emit(report)
    elif not rows:
        click.echo(NO_DATA)
    else:
        items = [(f"{r['sessionId'][:8]}\n{r['projectPath'][:24]}", r)
                 for r in report["sessions"]]
        _table("Claude Code token usage by session", "Session / project", items, report,
               breakdown)


@usage.command()
@_options
def blocks(since, until, project, breakdown, tz_name, as_json) -> None:
    """5-hour billing windows (as Claude's usage limits count them), gaps included."""
    from blueplane_pipeline.usage.reports import blocks_report

    rows, _tz = _load("message", since, until, project, tz_name)
    report = blocks_report(rows, now_ms=int(time.time() * 1000))
    if as_json:
        _emit(report)
    elif not rows:
        click.echo(NO_DATA)
    else:
        _blocks_table(report, breakdown)


# --- tables --------------------------------------------------------------------------------

def short_model(name: str) -> str:
    """``claude-sonnet-4-5-20250929`` -> ``sonnet-4-5`` (tables only; JSON keeps ids)."""
    short = name.removeprefix("claude-")
    head, _, tail = short.rpartition("-")
    return head if len(tail) == 8 and tail.isdigit() and head else short


def _n(value: int) -> str:
    return f"{value:,}"


def _cost(value: float) -> str:
    return f"${value:,.2f}"


def _table(title: str, label: str, items: list[tuple[str, dict]], report: dict,
           breakdown: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_footer=True)
    t.add_column(label, footer="Total", no_wrap=True)  # ids and dates stay whole
    t.add_column("Models", overflow="fold", min_width=10)
    totals = report["totals"]
    for name, key in (("Input", "inputTokens"), ("Output", "outputTokens"),
                      ("Cache W", "cacheCreationTokens"), ("Cache R", "cacheReadTokens"),
                      ("Total", "totalTokens")):
        t.add_column(name, justify="right", footer=_n(totals[key]), no_wrap=True)
    t.add_column("Cost", justify="right", footer=_cost(totals["totalCost"]), no_wrap=True)
    for name, row in items:
        cells = [name, ", ".join(short_model(m) for m in row["modelsUsed"]), _n(row["inputTokens"]),
                 _n(row["outputTokens"]), _n(row["cacheCreationTokens"]),
                 _n(row["cacheReadTokens"]), _n(row["totalTokens"]), _cost(row["totalCost"])]
        t.add_row(*cells)
        if breakdown:
            for b in row["modelBreakdowns"]:
                total = (b["inputTokens"] + b["outputTokens"] + b["cacheCreationTokens"]
                         + b["cacheReadTokens"])
                sub = ["", f"└ {short_model(b['modelName'])}", _n(b["inputTokens"]),
                       _n(b["outputTokens"]), _n(b["cacheCreationTokens"]),
                       _n(b["cacheReadTokens"]), _n(total), _cost(b["cost"])]
                t.add_row(*sub, style="dim")
    console = Console()
    console.print(t)
    _missing_note(report, console)


def _blocks_table(report: dict, breakdown: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Claude Code 5-hour blocks (UTC)", title_justify="left")
    for name, justify in (("Block start", "left"), ("Status", "left"), ("Models", "left"),
                          ("Messages", "right"), ("Tokens", "right"), ("Cost (USD)", "right")):
        t.add_column(name, justify=justify)
    for b in report["blocks"]:
        start = b["startTime"][:16].replace("T", " ")
        if b["isGap"]:
            t.add_row(start, "gap", "", "", "", "", style="dim")
            continue
        status = "ACTIVE" if b["isActive"] else "done"
        models = ", ".join(short_model(m) for m in b["models"])
        t.add_row(start, status, models, _n(b["entries"]), _n(b["totalTokens"]),
                  _cost(b["costUSD"]))
        if breakdown and b["isActive"] and b["projection"]:
            p = b["projection"]
            t.add_row("", "projected", "", "", _n(p["totalTokens"]), _cost(p["totalCost"]),
                      style="dim")
    console = Console()
    console.print(t)
    _missing_note(report, console)


def _missing_note(report: dict, console) -> None:
    missing = report.get("missingPricing")
    if missing:
        console.print(f"[yellow]No price for {', '.join(missing)}: counted as $0. "
                      "Load a newer list with `blueplane pricing update FILE`.[/yellow]")
