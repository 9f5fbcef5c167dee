"""``blueplane team``: publish this laptop's anonymised facts to the team Postgres, read the
team's reports, and run the team's Dagster deployment (docs/team.md).

Thin over ``blueplane_pipeline.team``; psycopg2 and Dagster load only in the commands that
need them, so ``blueplane team --help`` and the other commands stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from blueplane_cli.output import emit_json, fail, table


def _home() -> Path:
    from blueplane_pipeline.core import config

    return config.home()


def _settings(url: str | None = None):
    from blueplane_pipeline.team import settings

    loaded = settings.load(_home())
    if url:
        loaded.url = url
    if not loaded.url:
        fail("team.url is not set: blueplane config set team.url "
             "postgresql://user@host:5432/dbname")
    return loaded


@click.group(name="team")
def team() -> None:
    """Team mode: publish anonymised facts to a team Postgres and read the team's totals."""


@team.command()
@click.option("--full", is_flag=True, help="Send every fact again (same rows in the end).")
@click.option("--dry-run", is_flag=True,
              help="Show what would leave this machine (with sample rows); send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def publish(full: bool, dry_run: bool, as_json: bool) -> None:
    """Upsert this laptop's session, usage and tool facts into the team store.

    Only what team.share allows leaves: never prompts, file contents, tool output, paths
    or secrets; projects only as aliases or hashes. Incremental and idempotent: re-run it
    any time, also after an interruption.
    """
    from blueplane_pipeline.team.pg import TeamStoreError
    from blueplane_pipeline.team.publish import publish as run

    try:
        stats = run(_home(), _settings(), full=full, dry_run=dry_run)
    except TeamStoreError as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json(stats.as_dict())
        return
    verb = "Would send" if dry_run else "Published"
    click.echo(f"{verb} to {stats.team} as {stats.developer} (device {stats.device_id[:8]}, "
               f"share: {','.join(stats.share) or 'none'})")
    table("", ["facts", "on this laptop", "sent", "deleted there", "unchanged"],
          [(k, v.facts, v.upserted, v.deleted, v.unchanged) for k, v in stats.kinds.items()])
    if dry_run:
        for kind, rows in stats.preview.items():
            for row in rows[:1]:
                click.echo(f"{kind}: {json.dumps(row, default=str)}")
    else:
        click.echo(f"{stats.upserted} rows sent, {stats.deleted} deleted in {stats.seconds:.2f} s")


_REPORTS = ("daily", "developers", "projects", "models")


@team.command()
@click.argument("which", type=click.Choice(_REPORTS))
@click.option("--since", "-s", default=None, metavar="DATE", help="From DATE on (YYYYMMDD).")
@click.option("--until", "-u", default=None, metavar="DATE", help="Up to DATE, included.")
@click.option("--timezone", "-z", "tz_name", default=None, metavar="TZ",
              help="Timezone for days (default: this machine's).")
@click.option("--developer", default=None, help="Only this developer.")
@click.option("--project", "-p", default=None, help="Only this project (alias or hash).")
@click.option("--json", "as_json", is_flag=True,
              help="JSON (daily: the shape of `usage daily --json`).")
def report(which: str, since, until, tz_name, developer, project, as_json: bool) -> None:
    """Team totals per day, developer, project or model, from the team store."""
    from blueplane_pipeline.team import reports
    from blueplane_pipeline.usage.timeframe import TimeframeError, day_bounds, resolve_timezone

    settings = _settings()
    try:
        tz = resolve_timezone(tz_name)
        since_ms, until_ms = day_bounds(since, until, tz)
    except TimeframeError as exc:
        fail(str(exc))
        return
    window = reports.Window(since_ms, until_ms, developer, project)
    out = _read_store(settings.url, "blueplane-report",
                      lambda conn: reports.daily(conn, window, tz) if which == "daily"
                      else reports.grouped(conn, which, window))
    if as_json:
        click.echo(json.dumps(out, indent=2, sort_keys=True))
    elif which == "daily":
        _daily_table(out, tz)
    else:
        _grouped_table(which, out)


def _read_store(url: str, application_name: str, read):
    """Run ``read(conn)`` on a read-only team-store connection; a store or driver error
    becomes one error line (every report reads the store this one way)."""
    from blueplane_pipeline.team import pg

    try:
        conn = pg.open_reader(url, application_name)
        try:
            return read(conn)
        finally:
            conn.close()
    except pg.TeamStoreError as exc:
        fail(str(exc))
    except pg.driver().Error as exc:
        fail(f"cannot read the team store: {pg.describe(exc, url)}")


def _money(v: float) -> str:
    return f"${v:,.2f}"


def _daily_table(out: dict, tz) -> None:
    rows = [(d["date"], ", ".join(d["modelsUsed"]), f"{d['inputTokens']:,}",
             f"{d['outputTokens']:,}", f"{d['cacheCreationTokens']:,}",
             f"{d['cacheReadTokens']:,}", f"{d['totalTokens']:,}", _money(d["totalCost"]))
            for d in out["daily"]]
    t = out["totals"]
    rows.append(("Total", "", f"{t['inputTokens']:,}", f"{t['outputTokens']:,}",
                 f"{t['cacheCreationTokens']:,}", f"{t['cacheReadTokens']:,}",
                 f"{t['totalTokens']:,}", _money(t["totalCost"])))
    table(f"Team token usage, daily ({getattr(tz, 'key', tz)})",
          ["Date", "Models", "Input", "Output", "Cache write", "Cache read", "Total tokens",
           "Cost (USD)"], rows)


def _grouped_table(which: str, out: dict) -> None:
    key = {"developers": "developer", "projects": "project", "models": "model"}[which]
    cols = [key, "sessions", "active_hours", "tool_calls", "error_rate", "acceptance_rate",
            "total_tokens", "cost_usd"]
    if which == "models":
        cols = [key, "developers", "messages", "input_tokens", "output_tokens",
                "total_tokens", "cost_usd"]

    def cell(row: dict, c: str) -> str:
        v = row.get(c)
        if c == "cost_usd":
            return _money(v)
        if isinstance(v, float) and c.endswith("rate"):
            return f"{v:.1%}"
        return f"{v:,}" if isinstance(v, int) else ("" if v is None else str(v) or "(none)")

    rows = [[cell(r, c) for c in cols] for r in out[which]]
    rows.append(["Total", *(cell(out["totals"], c) for c in cols[1:])])
    table(f"Team by {key}", cols, rows)


@team.command()
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
def snapshot(out: Path) -> None:
    """Copy the team store into a SQLite file for Datasette (datasette OUT)."""
    from blueplane_pipeline.team import snapshot as snap

    def write(conn):
        conn.set_session(autocommit=False)
        try:
            return snap.write(conn, out)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")

    stats = _read_store(_settings().url, "blueplane-snapshot", write)
    click.echo(f"Wrote {out}: " + ", ".join(f"{n} {t}" for t, n in stats.rows.items())
               + f" in {stats.seconds:.1f} s. Browse it: datasette {out}")


@team.command()
@click.option("--db", "url", default=None, metavar="URL",
              help="The team Postgres (default: team.url).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the Dagster UI.")
@click.option("--port", default=3100, show_default=True, type=int, help="Port of the UI.")
@click.option("--timezone", "tz_name", default=None, metavar="TZ",
              help="Timezone of the team's days in the rollups (default UTC).")
def up(url: str | None, host: str, port: int, tz_name: str | None) -> None:
    """Run the team's Dagster deployment (code server, daemon, UI) on Postgres storage."""
    from blueplane_pipeline.team import deployment, pg

    settings = _settings(url)
    try:
        pg.open_store(settings.url, "blueplane-team-up").close()
    except pg.TeamStoreError as exc:
        fail(str(exc))
    paths = deployment.Paths(_home())
    try:
        started = deployment.start(paths, settings.url, host=host, port=port,
                                   timezone=tz_name)
    except deployment.DeploymentError as exc:
        fail(str(exc))
        return
    click.echo(f"Team Dagster UI: http://{host}:{port}  (storage: "
               f"{pg.mask_url(settings.url)}; started: {', '.join(started) or 'nothing new'})")


@team.command()
def down() -> None:
    """Stop the team deployment that `blueplane team up` started."""
    from blueplane_pipeline.team import deployment

    stopped = deployment.stop(deployment.Paths(_home()))
    click.echo(f"Stopped {', '.join(stopped)}" if stopped else "Nothing was running.")


@team.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """This laptop's team identity and share policy, and the team deployment's processes."""
    from blueplane_pipeline.team import deployment, identity, settings

    home = _home()
    loaded = settings.load(home)
    out = {"team_url": settings.mask_url(loaded.url) if loaded.url else None,
           "device_id": identity.device_id(home),
           "developer": loaded.developer or "(salted hash of your OS user)",
           "share": list(loaded.share), "project_aliases": loaded.project_alias,
           "last_published_at": _last_published(home),
           "deployment": deployment.status(deployment.Paths(home))}
    if as_json:
        emit_json(out)
        return
    for key, value in out.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v or '-'}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = ",".join(value) or "none"
        click.echo(f"{key}: {value if value is not None else '-'}")


def _last_published(home: Path) -> str | None:
    import sqlite3
    from datetime import UTC, datetime

    path = home / "team" / "publish_state.db"
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        row = conn.execute("SELECT value FROM meta WHERE name = 'last_published_at'").fetchone()
        conn.close()
    except sqlite3.Error:
        return None
    return datetime.fromtimestamp(float(row[0]), UTC).isoformat() if row else None
