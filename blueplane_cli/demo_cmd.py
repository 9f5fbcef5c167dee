"""``blueplane demo``: the real pipeline end to end on a bundled sample session.

Embedded Redis is started, a sample Claude Code session's hook events go through the real
``blueplane-hook`` entry point, Dagster's ``ingest_job`` drains them into SQLite, and what
was stored is shown. It uses its own home (``./.blueplane-demo`` unless ``--home``), so a
real ``~/.blueplane`` is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import click

from blueplane_cli.output import fail, table


def sample_events() -> list[bytes]:
    data = resources.files("blueplane_pipeline").joinpath("data/sample_session.jsonl")
    return [line for line in data.read_bytes().splitlines() if line.strip()]


def hook_command() -> list[str]:
    exe = Path(sys.executable).parent / "blueplane-hook"
    if exe.exists():
        return [str(exe), "claude-code"]
    return [sys.executable, "-m", "blueplane_pipeline.capture.hook", "claude-code"]


@click.command()
@click.option("--home", type=click.Path(file_okay=False), default=".blueplane-demo",
              show_default=True, help="BLUEPLANE_HOME for the demo.")
@click.option("--keep-redis", is_flag=True, help="Leave the embedded Redis running afterwards.")
def demo(home: str, keep_redis: bool) -> None:
    """Run hook -> Redis stream -> Dagster ingest_job -> SQLite on a sample session."""
    os.environ["BLUEPLANE_HOME"] = str(Path(home).resolve())
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    from blueplane_pipeline.core import config
    from blueplane_pipeline.runtime import redis_server

    step = _Steps(5)
    step(f"starting the embedded Redis on unix://{config.redis_socket()}")
    try:
        started = redis_server.start()
    except redis_server.RedisUnavailable as exc:
        fail(str(exc))
    try:
        events = sample_events()
        step(f"sending {len(events)} Claude Code hook events through blueplane-hook")
        for line in events:
            subprocess.run(hook_command(), input=line, check=True, stdout=subprocess.DEVNULL)
        step("running Dagster's ingest_job (stream -> telemetry.db)")
        result = _run_ingest_job()
        step("stored events:")
        _show(config.db_path())
        click.echo(result)
        step("materializing token_usage and the analytics assets with Dagster")
        _run_analytics()
        _show_tool_calls(config.db_path())
    finally:
        if started and not keep_redis:
            redis_server.stop()
    click.echo(f"\nDatabase: {config.db_path()}\nNext: `BLUEPLANE_HOME={home} blueplane status`, "
               "or `blueplane install claude-code` and `blueplane up` to follow your own "
               "sessions (`blueplane ui` for the Dagster UI and Datasette).")


class _Steps:
    """Numbers the demo's steps ``1/N`` … ``N/N`` (the count is stated once)."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

    def __call__(self, text: str) -> None:
        self.done += 1
        click.echo(f"{self.done}/{self.total} {text}")


def _run_ingest_job() -> str:
    import dagster as dg

    from blueplane_pipeline.definitions import defs
    from blueplane_pipeline.orchestration.instance import ensure_instance

    os.environ["DAGSTER_HOME"] = str(ensure_instance())
    with dg.DagsterInstance.get() as instance:
        job = defs.resolve_job_def("ingest_job")
        res = job.execute_in_process(
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    mats = res.asset_materializations_for_node("raw_events")
    meta = {k: v.value for k, v in mats[0].metadata.items()} if mats else {}
    return (f"ingest_job run {res.run_id[:8]}: {meta.get('events_stored', 0)} stored, "
            f"{meta.get('duplicates_skipped', 0)} duplicates skipped, "
            f"raw {meta.get('raw_bytes', 0)} B -> stored {meta.get('stored_bytes', 0)} B")


def _run_analytics() -> None:
    import dagster as dg

    from blueplane_pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        job = defs.resolve_implicit_global_asset_job_def()
        res = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("token_usage")]
            + [k for k in job.asset_layer.asset_graph.get_all_asset_keys()
               if k.path[0] not in ("raw_events", "token_usage")],
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    if not res.success:
        fail("the analytics run failed; see the Dagster output above")


def _show_tool_calls(db: Path) -> None:
    from blueplane_pipeline.read.connect import open_reader
    from blueplane_pipeline.read.sessions import call_rows, list_sessions

    conn = open_reader(db)
    try:
        calls = call_rows(conn)
        sessions, _ = list_sessions(conn)
    finally:
        conn.close()
    table("tool_calls", ["tool", "status", "latency ms", "error class", "+lines", "-lines"],
          [(c["tool_name"], c["status"], c["latency_ms"], c["error_class"] or "",
            c["lines_added"], c["lines_removed"]) for c in calls])
    for s in sessions:
        rate = "-" if s.get("acceptance_rate") is None else f"{s['acceptance_rate']:.0%}"
        errors = sum(c["status"] == "error" for c in calls if c["session_id"] == s["session_id"])
        rejected = sum(c["status"] == "rejected" for c in calls
                       if c["session_id"] == s["session_id"])
        click.echo(f"session: {s['tool_calls']} tool calls, {errors} error(s), {rejected} "
                   f"rejected, edit acceptance {rate}, +{s['lines_added']}/-"
                   f"{s['lines_removed']} lines")


def _show(db: Path) -> None:
    from blueplane_pipeline.storage.db import connect
    from blueplane_pipeline.storage.reader import iter_events

    conn = connect(db, readonly=True)
    rows = []
    for ev in iter_events(conn):
        env, payload = ev.envelope, ev.payload if isinstance(ev.payload, dict) else {}
        rows.append((ev.seq, env["ts"][11:23], env["event_type"], payload.get("tool_name", ""),
                     (env["session_id"] or "")[:8]))
    conn.close()
    table("raw_events", ["seq", "time", "event", "tool", "session"], rows)
