"""``blueplane watch``: a live view of today's numbers, newest sessions and tool calls."""

from __future__ import annotations

import contextlib
import time

import click

from blueplane_cli.formats import chosen, emit, format_options, human
from blueplane_cli.reading import reader


@click.command()
@click.option("--interval", "-i", type=click.FloatRange(0.5), default=2.0, show_default=True,
              help="Seconds between refreshes.")
@click.option("--once", is_flag=True, help="Print the view once and exit.")
@format_options
def watch(interval: float, once: bool, fmt: str, as_json: bool) -> None:
    """Live view while sessions run (refreshes every few seconds; Ctrl-C to stop).

    Shows what the analytics tables hold, so it moves as fast as the pipeline refreshes
    them (`blueplane up` keeps them current).
    """
    from blueplane_pipeline.read.activity import recent_activity

    fmt = chosen(fmt, as_json)
    if once or fmt != "table":
        with reader() as conn:
            data = _with_budgets(recent_activity(conn))
        if fmt == "table":
            from rich.console import Console

            Console().print(render(data))
        else:
            emit(data["sessions"], list(data["sessions"][0]) if data["sessions"]
                 else ["session_id"], fmt, raw=data)
        return
    from rich.live import Live

    with (reader() as conn,
          Live(render(_with_budgets(recent_activity(conn))), refresh_per_second=4) as live,
          contextlib.suppress(KeyboardInterrupt)):
        follow(conn, interval, live.update)


def follow(conn, interval: float, show, *, sleep=time.sleep, count: int | None = None) -> None:
    """Every ``interval`` seconds, query again and ``show`` the new view (``count`` times,
    or until interrupted). The read-only connection sees each commit of the pipeline (WAL)."""
    from blueplane_pipeline.read.activity import recent_activity

    done = 0
    while count is None or done < count:
        sleep(interval)
        show(render(_with_budgets(recent_activity(conn))))
        done += 1


def _with_budgets(data: dict) -> dict:
    """The activity plus the budgets' states (``None`` when no budget is set)."""
    from blueplane_pipeline.budgets.current import current_states

    return {**data, "budgets": current_states()}


def render(data: dict):
    """The view as a rich renderable: today's metrics, sessions, latest tool calls."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from blueplane_pipeline.read.backlog import backlog_note

    today = data["today"]
    head = Text.assemble(
        ("Today  ", "bold"),
        f"{human('sessions', today['sessions'])} sessions · "
        f"{human('prompts', today['prompts'])} prompts · "
        f"{human('tool_calls', today['tool_calls'])} tool calls · "
        f"errors {human('error_rate', today['error_rate'])} · "
        f"accepted {human('acceptance_rate', today['acceptance_rate'])} · "
        f"p95 {human('latency_p95_ms', today['latency_p95_ms'])} · "
        f"{human('cost_usd', today['cost_usd'])}",
        ("   last event " + (data["last_event"] or "–")[:19].replace("T", " "), "dim"))
    lag = backlog_note(data)
    if lag:
        head.append(f"\n{lag}", style="yellow")
    budgets = data.get("budgets")
    if budgets:
        from blueplane_pipeline.budgets.current import summary_line

        worst = {"over": "bold red", "warn": "yellow"}.get(
            max((s["level"] for s in budgets["budgets"]),
                key=("ok", "warn", "over").index), "green")
        head.append(f"\nBudgets  {summary_line(budgets)}", style=worst)
    sessions = Table(title="Latest sessions", title_justify="left", expand=False)
    for col in ("session", "project", "last event", "prompts", "calls", "errors", "accept %",
                "cost"):
        sessions.add_column(col, no_wrap=True)
    for s in data["sessions"]:
        sessions.add_row(str(s["session_id"])[:8], s["project_name"] or "–",
                         str(s["ended_at"])[5:16].replace("T", " "), str(s["prompts"]),
                         str(s["tool_calls"]), str(s["tool_errors"]),
                         human("acceptance_rate", s["acceptance_rate"]),
                         human("cost_usd", s["cost_usd"]))
    calls = Table(title="Latest tool calls", title_justify="left")
    for col in ("at", "session", "tool", "status", "latency"):
        calls.add_column(col, no_wrap=True)
    colours = {"success": "green", "error": "red", "rejected": "yellow",
               "interrupted": "magenta", "pending": "cyan"}
    for c in data["tool_calls"]:
        calls.add_row(str(c["at"])[11:19], str(c["session_id"])[:8], c["tool_name"],
                      f"[{colours.get(c['status'], 'white')}]{c['status']}[/]",
                      human("latency_ms", c["latency_ms"]))
    return Group(head, sessions, calls)
