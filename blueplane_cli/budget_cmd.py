"""``blueplane budget``: spend limits per day, week, month or 5-hour block, with an opt-in
hard cap. Thin wiring over ``blueplane_pipeline.budgets``."""

from __future__ import annotations

import re
import time

import click

from blueplane_cli.formats import chosen, emit, format_options
from blueplane_cli.output import fail

PERIOD_CHOICE = click.Choice(["daily", "weekly", "monthly", "block"])
STATE_COLUMNS = ("id", "amount", "spent", "ratio", "level", "enforce", "denies")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhd])$")


def _paths() -> tuple[str, str]:
    from blueplane_pipeline.core import config

    return config.budgets_path_str(), config.spend_path_str()


def _fresh_spend() -> dict:
    """Spend computed from telemetry.db now (and written to run/spend.json for the hook and
    the statusline); the last written file when there is no database."""
    import json

    from blueplane_pipeline.budgets import spend
    from blueplane_pipeline.core import config
    from blueplane_pipeline.storage.db import connect

    db = config.db_path()
    if not db.exists():
        try:
            with open(config.spend_path_str()) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}
    conn = connect(db, readonly=True)
    try:
        data = spend.compute(conn)
    finally:
        conn.close()
    spend.write(data)
    return data


def _amount(value: str) -> float:
    try:
        amount = float(value.strip().lstrip("$").replace(",", ""))
    except ValueError:
        fail(f"{value!r} is not an amount of US dollars (e.g. 20 or 12.50)")
    if not amount > 0 or amount != amount or amount == float("inf"):
        fail(f"{value!r}: a budget must be a positive amount")
    return amount


@click.group()
def budget() -> None:
    """Spend limits with alerts at 80 % and 100 %, and an opt-in hard cap.

    Spend is today's / this week's (from Monday) / this month's cost in local time, or the
    current 5-hour block's, from token_usage (`blueplane refresh` or `blueplane up` keep it
    current). Crossings show in the statusline, `watch`, `status`, the MCP
    get_current_metrics and once in Claude Code itself; with --enforce, tool calls are
    refused while the budget is over (`blueplane budget pause 1h` lifts that).
    """


@budget.command("set")
@click.argument("period", type=PERIOD_CHOICE)
@click.argument("amount")
@click.option("--project", "-p", metavar="NAME", help="Only this project's spend (folder name).")
@click.option(
    "--enforce",
    is_flag=True,
    help="Hard cap: refuse the assistant's tool calls once the budget is over.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def set_(period: str, amount: str, project: str | None, enforce: bool, as_json: bool) -> None:
    """Set (or replace) the PERIOD budget to AMOUNT US dollars."""
    from blueplane_pipeline.budgets import store

    budgets_path, _ = _paths()
    doc = store.upsert(store.load(budgets_path), period, _amount(amount), project, enforce)
    store.save(budgets_path, doc)
    states = _states(doc, _fresh_spend())
    ident = store.budget_id(period, project)
    state = next(s for s in states if s["id"] == ident)
    if as_json:
        click.echo(__import__("json").dumps(state, indent=2))
        return
    cap = " (hard cap: tool calls are refused once it is over)" if enforce else ""
    click.echo(
        f"Budget {ident}: ${state['amount']:.2f}{cap}; "
        f"${state['spent']:.2f} spent so far ({state['ratio'] * 100:.0f} %)."
    )


@budget.command("list")
@format_options
def list_(fmt: str, as_json: bool) -> None:
    """The budgets that are set."""
    from blueplane_pipeline.budgets import store

    doc = store.load(_paths()[0])
    rows = doc["budgets"]
    fmt = chosen(fmt, as_json)
    if fmt == "table" and not rows:
        click.echo("No budget set (`blueplane budget set daily 20`).")
        return
    emit(
        rows,
        ("id", "period", "project", "amount", "enforce"),
        fmt,
        title="Budgets",
        raw={"budgets": rows, "paused_until": _paused(doc)},
    )


@budget.command("status")
@format_options
def status(fmt: str, as_json: bool) -> None:
    """Each budget against what was spent in its current window."""
    from blueplane_pipeline.budgets import store

    doc = store.load(_paths()[0])
    fmt = chosen(fmt, as_json)
    if not doc["budgets"]:
        if fmt == "json":
            emit([], [], fmt, raw={"budgets": [], "paused_until": None})
        else:
            click.echo("No budget set (`blueplane budget set daily 20`).")
        return
    states = _states(doc, _fresh_spend())
    paused = _paused(doc)
    emit(
        states,
        STATE_COLUMNS,
        fmt,
        title="Budgets",
        raw={"budgets": states, "paused_until": paused},
        footer=f"Hard cap paused until {paused}." if paused else None,
        cells=_cell,
    )


def _cell(column: str, value: object) -> str:
    from blueplane_cli.formats import human

    if column in ("amount", "spent") and isinstance(value, (int, float)):
        return f"${value:,.2f}"
    if column == "ratio" and isinstance(value, (int, float)):
        return f"{value * 100:.0f} %"
    return human(column, value)


@budget.command("rm")
@click.argument("ident", metavar="ID")
def rm(ident: str) -> None:
    """Remove the budget ID (as `budget list` shows it: daily, weekly:myapp, …)."""
    from blueplane_pipeline.budgets import store

    budgets_path, _ = _paths()
    doc, removed = store.remove(store.load(budgets_path), ident)
    if not removed:
        known = ", ".join(b["id"] for b in store.load(budgets_path)["budgets"]) or "none"
        fail(f"no budget {ident!r} (set: {known})")
    store.save(budgets_path, doc)
    click.echo(f"Removed budget {ident}.")


@budget.command("pause")
@click.argument("duration")
def pause(duration: str) -> None:
    """Lift the hard cap for DURATION (30m, 1h, 2d), or `off` to restore it now."""
    from blueplane_pipeline.budgets import store

    budgets_path, _ = _paths()
    doc = store.load(budgets_path)
    if not doc["budgets"]:
        fail("no budget set: nothing to pause")
    if duration.strip().lower() in ("off", "0", "resume"):
        doc["paused_until_ms"] = 0
        store.save(budgets_path, doc)
        click.echo("Hard cap active again.")
        return
    match = _DURATION.match(duration.strip().lower())
    if not match:
        fail(f"{duration!r} is not a duration: use 30m, 1h, 2d, or off")
    seconds = float(match.group(1)) * {"m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if not 0 < seconds <= 31 * 86400:
        fail("a pause lasts between a minute and 31 days")
    doc["paused_until_ms"] = int((time.time() + seconds) * 1000)
    store.save(budgets_path, doc)
    click.echo(f"Hard cap paused until {_paused(doc)}; alerts still show.")


def _states(doc: dict, spend: dict) -> list[dict]:
    from blueplane_pipeline.budgets import evaluate

    return evaluate.evaluate(doc, spend, int(time.time() * 1000))


def _paused(doc: dict) -> str | None:
    until = doc.get("paused_until_ms") or 0
    if until <= time.time() * 1000:
        return None
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(until / 1000))
