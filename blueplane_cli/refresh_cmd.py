"""``blueplane refresh``: materialize the analytics tables in this process.

For users without the Dagster daemon (and for scripts): the same asset code, run with
Dagster's in-process ``materialize``. Imports Dagster only when the command runs.
"""

from __future__ import annotations

import time

import click

from blueplane_cli.output import emit_json, fail, table


@click.command()
@click.option("--full", "full_rebuild", is_flag=True,
              help="Recompute every table from all raw events (same result, slower).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def refresh(full_rebuild: bool, as_json: bool) -> None:
    """Refresh sessions, tool calls, turns, edits, daily metrics and insights.

    Runs the same Dagster assets the pipeline runs (token_usage first, whose tokens and
    cost the tables join), in this process, incrementally unless --full.
    """
    from blueplane_pipeline.core import config

    db = config.db_path()
    if not db.exists():
        fail(f"no database at {db}: capture or import some events first "
             "(`blueplane ingest`, `blueplane import claude-code`)")
    t0 = time.perf_counter()
    try:
        results = _materialize(full_rebuild, quiet=as_json)
    except Exception as exc:  # noqa: BLE001 - one line for the user, never a traceback
        fail(f"refresh failed: {exc}")
        return
    summary = {"full_rebuild": full_rebuild, "seconds": round(time.perf_counter() - t0, 2),
               "assets": results}
    if as_json:
        emit_json(summary)
        return
    table("Analytics refreshed", ["asset", "rows changed", "seconds"],
          [(k, v.get("rows_changed"), v.get("seconds")) for k, v in results.items()])


def _materialize(full_rebuild: bool, quiet: bool) -> dict[str, dict]:
    import dagster as dg
    from rich.console import Console

    from blueplane_pipeline.orchestration.assets.analytics import ANALYTICS_ASSETS
    from blueplane_pipeline.orchestration.assets.otel import OTEL_ASSETS
    from blueplane_pipeline.orchestration.assets.surfaces import SURFACE_ASSETS
    from blueplane_pipeline.orchestration.assets.token_usage import token_usage
    from blueplane_pipeline.orchestration.checks import ANALYTICS_CHECKS
    from blueplane_pipeline.orchestration.resources import BlueplaneResource

    # Dagster's per-step debug lines are noise here; warnings and errors still show.
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if full_rebuild:
        run_config["ops"] = {"session_tables": {"config": {"full_rebuild": True}},
                             "daily_rollups": {"config": {"full_rebuild": True}},
                             "search_index": {"config": {"full_rebuild": True}}}
    status = Console(stderr=True).status("Refreshing analytics…") if not quiet else None
    if status:
        status.start()
    try:
        # An ephemeral instance: nothing is written to DAGSTER_HOME.
        # token_usage and the OTel tables first (joined into the analytics), then those.
        result = dg.materialize(
            [token_usage, *OTEL_ASSETS, *ANALYTICS_ASSETS, *SURFACE_ASSETS, *ANALYTICS_CHECKS],
            resources={"blueplane": BlueplaneResource()}, run_config=run_config,
            raise_on_error=True)
        failed = [e.asset_check_key.name for e in result.get_asset_check_evaluations()
                  if not e.passed]
        out = {}
        for mat in result.get_asset_materialization_events():
            m = mat.materialization
            out[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
    finally:
        if status:
            status.stop()
    if failed:
        raise RuntimeError("asset checks failed: " + ", ".join(sorted(failed)))
    return out
