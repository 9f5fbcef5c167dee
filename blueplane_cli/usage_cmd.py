"""``blueplane usage daily|weekly|monthly|session|blocks``: token and cost reports.

Reads the ``token_usage`` table with plain SQL (no Dagster, no pandas). ``--json`` prints
ccusage's JSON shape and field names, so scripts written for ccusage keep working.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import click

from blueplane_cli.output import fail
from blueplane_cli.reading import PlatformChoice

NO_DATA = ("No token usage yet: import history with `blueplane import claude-code` (or "
           "`codex`, `gemini`), or start the pipeline with `blueplane up`.")


def _options(func: Callable) -> Callable:
    func = click.option("--agent", "--platform", "agent", default=None,
                        type=PlatformChoice(),
                        help="Only this assistant (`codex` prints ccusage's `codex` JSON "
                             "shape). Default: all, with a per-assistant breakdown.")(func)
    func = click.option("--source", type=click.Choice(["transcript", "otel", "best"]),
                        default="transcript", show_default=True,
                        help="Whose token counts: the transcripts (ccusage-identical), "
                             "Claude Code's OpenTelemetry api_request events (`blueplane "
                             "install claude-code --otel`), or best: OTel for the sessions "
                             "it covers without a lost batch, transcripts for the rest.")(func)
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
    """Token and cost reports from every assistant's history (totals match ccusage)."""


def _platform(agent: str | None) -> str | None:
    from blueplane_pipeline.core import platforms

    found = platforms.from_cli(agent)
    return found.name if found is not None else None


def _label(agent: str | None) -> str:
    from blueplane_pipeline.core import platforms

    found = platforms.from_cli(agent)
    return found.label if found is not None else "All assistants'"


def _by_agent(rows, agent: str | None) -> bool:
    """A per-assistant breakdown when no ``--agent`` was given and several show up."""
    return agent is None and len({r.platform for r in rows}) > 1


def _load(grain: str, since: str | None, until: str | None, project: str | None,
          tz_name: str | None, agent: str | None = None, source: str = "transcript"):
    from blueplane_cli.reading import reader
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read.usage import report_rows
    from blueplane_pipeline.usage.timeframe import TimeframeError, day_bounds, resolve_timezone

    try:
        tz = resolve_timezone(tz_name)
        since_ms, until_ms = day_bounds(since, until, tz)
    except TimeframeError as exc:
        fail(str(exc))
    if not config.db_path().exists():
        _no_otel_note(source, "none")
        return [], tz
    with reader() as conn:
        try:
            with _progress(conn) as tick:
                rows, origin = report_rows(conn, grain, since_ms=since_ms, until_ms=until_ms,
                                           project=project, tz=tz, on_event=tick,
                                           platform=_platform(agent), source=source)
        except ValueError as exc:  # prices are read only when token_usage is not built yet
            from blueplane_pipeline.core.pricing import PriceListError

            if not isinstance(exc, PriceListError):
                raise
            fail(f"{exc} (`blueplane pricing reset` goes back to the shipped list)")
    _no_otel_note(source, origin)
    if origin == "events":
        click.echo("(computed from stored transcript events: the token_usage table is not "
                   "built yet; `blueplane up` keeps it current and makes this instant)", err=True)
    return rows, tz


def _no_otel_note(source: str, origin: str) -> None:
    if source == "otel" and origin == "none":
        from blueplane_pipeline.read.otel import NO_OTEL

        click.echo(f"({NO_OTEL})", err=True)


@contextlib.contextmanager
def _progress(conn):
    """A progress bar on a terminal's stderr, for the slow path only (no table yet: every
    stored transcript event is read). Elsewhere a no-op."""
    import sys

    from blueplane_pipeline.read.connect import has_rows

    if not sys.stderr.isatty() or has_rows(conn, "token_usage"):
        yield None
        return
    from rich.progress import Progress

    from blueplane_pipeline.usage.events import count_usage_events

    with Progress(transient=True, console=_stderr_console()) as bar:
        task = bar.add_task("Reading transcript events", total=count_usage_events(conn))
        seen = [0]

        def tick() -> None:
            seen[0] += 1
            if seen[0] % 2000 == 0:
                bar.update(task, completed=seen[0])

        yield tick


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _emit(report: dict) -> None:
    """The report as indented JSON with sorted keys (orjson: a year of days in ~1 ms, where
    the standard library's indenting encoder, written in Python, took ~15)."""
    import orjson

    click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def _period(period: str, since, until, project, breakdown, tz_name, as_json, week_start=6,
            agent=None, source="transcript"):
    from blueplane_pipeline.usage.reports import codex_report, period_report

    rows, tz = _load("day", since, until, project, tz_name, agent, source)
    report = period_report(rows, period, tz, week_start=week_start,
                           by_agent=_by_agent(rows, agent))
    if as_json:
        _emit(codex_report(rows, period, tz, week_start=week_start) if agent == "codex"
              else report)
    elif not rows:
        click.echo(NO_DATA)
    else:
        label = {"daily": "Date", "weekly": "Week of", "monthly": "Month"}[period]
        key = {"daily": "date", "weekly": "week", "monthly": "month"}[period]
        title = f"{_label(agent)} token usage, {period} ({getattr(tz, 'key', tz)}){_by(source)}"
        _table(title, label, [(r[key], r) for r in report[period]], report, breakdown)
        _missing_note(rows)


@usage.command()
@_options
def daily(since, until, project, breakdown, tz_name, as_json, agent, source) -> None:
    """Tokens and cost per day."""
    _period("daily", since, until, project, breakdown, tz_name, as_json, agent=agent,
            source=source)


@usage.command()
@_options
@click.option("--start-of-week", "week_start", default="sunday", show_default=True,
              type=click.Choice(["monday", "tuesday", "wednesday", "thursday", "friday",
                                 "saturday", "sunday"]),
              help="Day a week starts on.")
def weekly(since, until, project, breakdown, tz_name, as_json, agent, source,
           week_start) -> None:
    """Tokens and cost per week."""
    from blueplane_pipeline.usage.reports import WEEKDAYS

    _period("weekly", since, until, project, breakdown, tz_name, as_json,
            WEEKDAYS.index(week_start), agent=agent, source=source)


@usage.command()
@_options
def monthly(since, until, project, breakdown, tz_name, as_json, agent, source) -> None:
    """Tokens and cost per month."""
    _period("monthly", since, until, project, breakdown, tz_name, as_json, agent=agent,
            source=source)


@usage.command()
@_options
def session(since, until, project, breakdown, tz_name, as_json, agent, source) -> None:
    """Tokens and cost per session (transcript file), most expensive first."""
    from blueplane_pipeline.usage.reports import codex_report, session_report

    rows, tz = _load("session", since, until, project, tz_name, agent, source)
    report = session_report(rows, by_agent=_by_agent(rows, agent))
    if as_json:
        if agent == "gemini":  # ccusage's gemini sessions name no project and no times
            for item in report["sessions"]:
                for key in ("projectPath", "firstActivity", "lastActivity"):
                    item.pop(key, None)
        _emit(codex_report(rows, "session", tz) if agent == "codex" else report)
    elif not rows:
        click.echo(NO_DATA)
    else:
        items = [(f"{r['sessionId'][:8]} {r['projectPath']}", r) for r in report["sessions"]]
        _table(f"{_label(agent)} token usage by session{_by(source)}", "Session / project",
               items, report,
               breakdown)
        _missing_note(rows)


@usage.command()
@_options
def blocks(since, until, project, breakdown, tz_name, as_json, agent, source) -> None:
    """5-hour billing windows (as Claude's usage limits count them), gaps included."""
    from blueplane_pipeline.usage.reports import blocks_report

    rows, _tz = _load("message", since, until, project, tz_name, agent, source)
    report = blocks_report(rows, now_ms=int(time.time() * 1000))
    if as_json:
        _emit(report)
    elif not rows:
        click.echo(NO_DATA)
    else:
        _blocks_table(report, breakdown)
        _missing_note(rows)


def _by(source: str) -> str:
    return {"transcript": "", "otel": " — by OpenTelemetry",
            "best": " — OTel where complete, else transcripts"}[source]


@usage.command()
@click.option("--since", "-s", default=None, metavar="DATE",
              help="From DATE on (YYYYMMDD or YYYY-MM-DD).")
@click.option("--until", "-u", default=None, metavar="DATE",
              help="Up to and including DATE (YYYYMMDD or YYYY-MM-DD).")
@click.option("--timezone", "-z", "tz_name", default=None, metavar="TZ",
              help="Timezone for the dates (default: this machine's).")
@click.option("--json", "as_json", is_flag=True, help="One object per session, as JSON.")
def reconcile(since, until, tz_name, as_json) -> None:
    """Per session: transcript vs OpenTelemetry tokens and cost, and OTel batches lost.

    A positive difference is what the transcripts missed (OTel is Claude Code's own
    accounting); `otel_events_lost` counts events of batches that never arrived.
    """
    from blueplane_cli.reading import reader
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read.otel import NO_OTEL, has_otel, reconcile_rows
    from blueplane_pipeline.usage.timeframe import TimeframeError, day_bounds, resolve_timezone

    try:
        since_ms, until_ms = day_bounds(since, until, resolve_timezone(tz_name))
    except TimeframeError as exc:
        fail(str(exc))
    rows, otel = [], False
    if config.db_path().exists():
        with reader() as conn:
            otel = has_otel(conn)
            rows = reconcile_rows(conn, since_ms=since_ms, until_ms=until_ms)
    if as_json:
        _emit({"sessions": rows, "otel": otel})
        return
    if not otel:
        click.echo(f"{NO_OTEL[0].upper()}{NO_OTEL[1:]}.")
    if not rows:
        click.echo(NO_DATA)
        return

    def num(v) -> str:
        return "-" if v is None else _n(v)

    def signed(v, cost: bool = False) -> str:
        if v is None:
            return "-"
        return (f"{v:+,.4f}" if cost else f"{v:+,}") if v else "0"

    table_rows = []
    for r in rows:
        t_tok = None if r["transcript_messages"] is None else sum(
            r[f"transcript_{c}"] or 0 for c in ("input_tokens", "output_tokens",
                                                "cache_creation_tokens", "cache_read_tokens"))
        o_tok = None if r["otel_requests"] is None else sum(
            r[f"otel_{c}"] or 0 for c in ("input_tokens", "output_tokens",
                                          "cache_creation_tokens", "cache_read_tokens"))
        table_rows.append(([
            (r["session_id"] or "?")[:8], r["sources"], num(r["transcript_messages"]),
            num(r["otel_requests"]), num(t_tok), num(o_tok),
            signed(o_tok - t_tok if t_tok is not None and o_tok is not None else None),
            signed(r["diff_cost_usd"], cost=True), num(r["otel_events_lost"])], False))
    _render("Token reconciliation: transcripts vs OpenTelemetry (diff = OTel - transcript)",
            ["Session", "Sources", "Messages", "API requests", "Transcript tokens",
             "OTel tokens", "Diff tokens", "Diff cost", "OTel lost"],
            {2, 3, 4, 5, 6, 7, 8}, table_rows)


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


def _render(title: str, headers: list[str], right: set[int], rows: list[tuple[list[str], bool]],
            footer: list[str] | None = None, shrink: int | None = None) -> None:
    """Print a boxed table. Drawn here rather than with rich: a year of days is ~3,000
    cells, which rich takes ~0.3 s to lay out, more than half the report's budget.
    ``shrink`` names the column cut (with "…") when the table is wider than the terminal."""
    import shutil

    lines = [cells for cells, _ in rows] + ([footer] if footer else [])
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(headers)]
    if shrink is not None:
        over = sum(widths) + 3 * len(widths) + 1 - shutil.get_terminal_size((120, 24)).columns
        widths[shrink] = max(len(headers[shrink]), widths[shrink] - max(over, 0))

    def cell(text: str, i: int) -> str:
        if len(text) > widths[i]:
            text = text[: widths[i] - 1] + "…"
        return text.rjust(widths[i]) if i in right else text.ljust(widths[i])

    def line(cells: list[str], bar: str) -> str:
        return bar + bar.join(f" {cell(c, i)} " for i, c in enumerate(cells)) + bar

    def rule(left: str, mid: str, end: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + end

    out = [title, rule("┏", "┳", "┓", "━"), line(headers, "┃"), rule("┡", "╇", "┩", "━")]
    for cells, dim in rows:
        text = line(cells, "│")
        out.append(click.style(text, dim=True) if dim else text)
    if footer:
        out += [rule("├", "┼", "┤", "─"), click.style(line(footer, "│"), bold=True)]
    out.append(rule("└", "┴", "┘", "─"))
    click.echo("\n".join(out))


def _table(title: str, label: str, items: list[tuple[str, dict]], report: dict,
           breakdown: bool) -> None:
    headers = [label, "Models", "Input", "Output", "Cache write", "Cache read", "Total tokens",
               "Cost (USD)"]
    rows: list[tuple[list[str], bool]] = []
    for name, row in items:
        rows.append(([name, ", ".join(short_model(m) for m in row["modelsUsed"]),
                      _n(row["inputTokens"]), _n(row["outputTokens"]),
                      _n(row["cacheCreationTokens"]), _n(row["cacheReadTokens"]),
                      _n(row["totalTokens"]), _cost(row["totalCost"])], False))
        if breakdown:
            for b in row["modelBreakdowns"]:
                total = (b["inputTokens"] + b["outputTokens"] + b["cacheCreationTokens"]
                         + b["cacheReadTokens"])
                rows.append((["", f"└ {short_model(b['modelName'])}", _n(b["inputTokens"]),
                              _n(b["outputTokens"]), _n(b["cacheCreationTokens"]),
                              _n(b["cacheReadTokens"]), _n(total), _cost(b["cost"])], True))
    t = report["totals"]
    footer = ["Total", "", _n(t["inputTokens"]), _n(t["outputTokens"]),
              _n(t["cacheCreationTokens"]), _n(t["cacheReadTokens"]), _n(t["totalTokens"]),
              _cost(t["totalCost"])]
    _render(title, headers, set(range(2, 8)), rows, footer, shrink=1)


def _blocks_table(report: dict, breakdown: bool) -> None:
    headers = ["Block start (UTC)", "Status", "Models", "Messages", "Tokens", "Cost (USD)"]
    rows: list[tuple[list[str], bool]] = []
    for b in report["blocks"]:
        start = b["startTime"][:16].replace("T", " ")
        if b["isGap"]:
            rows.append(([start, "gap", "", "", "", ""], True))
            continue
        models = ", ".join(short_model(m) for m in b["models"])
        rows.append(([start, "ACTIVE" if b["isActive"] else "done", models, _n(b["entries"]),
                      _n(b["totalTokens"]), _cost(b["costUSD"])], False))
        if breakdown and b["isActive"] and b["projection"]:
            p = b["projection"]
            rows.append((["", "projected", "", "", _n(p["totalTokens"]),
                          _cost(p["totalCost"])], True))
    _render("Claude Code 5-hour blocks", headers, {3, 4, 5}, rows, shrink=2)


def _missing_note(rows) -> None:
    from blueplane_pipeline.usage.reports import unpriced_models

    missing = unpriced_models(rows)
    if missing:
        click.secho(f"No price for {', '.join(missing)}: counted as $0. Load a newer list "
                    "with `blueplane pricing update FILE`.", fg="yellow")
