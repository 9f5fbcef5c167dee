"""The analytics assets and checks run by Dagster on a real temp database, and
``blueplane refresh`` (in-process materialize) from the CLI."""

from __future__ import annotations

import json

import dagster as dg
from analytics_fixtures import rows, store, transcript_envelopes
from click.testing import CliRunner

from blueplane_pipeline.orchestration.assets.analytics import ANALYTICS_ASSETS
from blueplane_pipeline.orchestration.assets.token_usage import token_usage
from blueplane_pipeline.orchestration.checks import ANALYTICS_CHECKS
from blueplane_pipeline.orchestration.jobs import analytics_job
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from tests.conftest import CLAUDE_HOME

ANALYTICS_KEYS = {"sessions", "tool_calls", "turns", "file_edits", "metrics_daily",
                  "tool_metrics", "insights"}


def fixture_home(tmp_path):
    envs = [e for p in sorted(CLAUDE_HOME.glob("projects/*/*.jsonl"))
            for e in transcript_envelopes(p)]
    store(tmp_path / "telemetry.db", envs).close()
    return tmp_path


def materialize(home, run_config=None):
    return dg.materialize(
        [token_usage, *ANALYTICS_ASSETS, *ANALYTICS_CHECKS],
        resources={"blueplane": BlueplaneResource(home=str(home))}, run_config=run_config)


def test_assets_materialize_with_checks_and_metadata(tmp_path):
    home = fixture_home(tmp_path)
    result = materialize(home)
    assert result.success
    mats = {m.materialization.asset_key.to_user_string(): m.materialization.metadata
            for m in result.get_asset_materialization_events()}
    assert set(mats) >= ANALYTICS_KEYS
    assert mats["tool_calls"]["rows_changed"].value == 374
    assert mats["sessions"]["rows_changed"].value == 15
    assert mats["sessions"]["seconds"].value >= 0
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(ANALYTICS_CHECKS)
    assert all(e.passed for e in evaluations), [e.asset_check_key.name for e in evaluations
                                                if not e.passed]
    # token_usage ran before the analytics: tokens are in sessions on the first run
    import sqlite3
    conn = sqlite3.connect(home / "telemetry.db")
    assert rows(conn, "SELECT sum(input_tokens) AS n FROM sessions")[0]["n"] == 1711

    again = materialize(home)  # nothing new: nothing changes
    mats = {m.materialization.asset_key.to_user_string(): m.materialization.metadata
            for m in again.get_asset_materialization_events()}
    assert mats["tool_calls"]["rows_changed"].value == 0

    full = materialize(home, {"ops": {"session_tables": {"config": {"full_rebuild": True}},
                                      "daily_rollups": {"config": {"full_rebuild": True}}}})
    mats = {m.materialization.asset_key.to_user_string(): m.materialization.metadata
            for m in full.get_asset_materialization_events()}
    assert mats["tool_calls"]["rows_changed"].value == 374
    assert mats["sessions"]["full_rebuild"].value is True


def test_blocking_check_stops_the_rollups(tmp_path):
    home = fixture_home(tmp_path)
    assert materialize(home).success
    import sqlite3
    conn = sqlite3.connect(home / "telemetry.db")
    # corrupt a row the way a bug would: a tool call whose session does not exist
    conn.execute("UPDATE tool_calls SET session_id = 'nope' WHERE rowid = "
                 "(SELECT min(rowid) FROM tool_calls)")
    conn.commit()
    result = dg.materialize(
        [*ANALYTICS_ASSETS, *ANALYTICS_CHECKS],
        resources={"blueplane": BlueplaneResource(home=str(home))}, raise_on_error=False)
    failed = {e.asset_check_key.name for e in result.get_asset_check_evaluations()
              if not e.passed}
    assert "tool_call_sessions_exist" in failed
    materialized = {m.materialization.asset_key.to_user_string()
                    for m in result.get_asset_materialization_events()}
    assert "sessions" in materialized
    assert not materialized & {"metrics_daily", "tool_metrics", "insights"}


def test_lineage_descriptions_and_automation():
    defs = dg.Definitions(assets=[*ANALYTICS_ASSETS], asset_checks=ANALYTICS_CHECKS,
                          jobs=[analytics_job], resources={"blueplane": BlueplaneResource()})
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("tool_calls")).parent_keys >= {dg.AssetKey("raw_events")}
    assert dg.AssetKey("metrics_daily") in graph.get(dg.AssetKey("insights")).parent_keys
    for key in ANALYTICS_KEYS:
        node = graph.get(dg.AssetKey(key))
        assert node.group_name == "analytics" and node.description
        assert node.automation_condition is not None


def test_cli_refresh_materializes_in_process(tmp_path, monkeypatch):
    from blueplane_cli.main import cli

    monkeypatch.setenv("BLUEPLANE_HOME", str(fixture_home(tmp_path)))
    result = CliRunner().invoke(cli, ["refresh", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{"):])
    assert out["assets"]["tool_calls"]["rows_changed"] == 374
    result = CliRunner().invoke(cli, ["refresh", "--full", "--json"])
    assert result.exit_code == 0, result.output


def test_cli_refresh_without_database_is_one_line(tmp_path, monkeypatch):
    from blueplane_cli.main import cli

    monkeypatch.setenv("BLUEPLANE_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["refresh"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no database") and "Traceback" not in result.output


def test_automation_refreshes_after_ingest_then_settles(tmp_path):
    """Ticks of the automation: after an ingest (a new raw_events materialization) one tick
    requests every analytics asset (one run, in dependency order); after that run the next
    ticks request nothing: no run triggers itself again."""
    home = fixture_home(tmp_path)
    assets = [token_usage, *ANALYTICS_ASSETS]
    resources = {"blueplane": BlueplaneResource(home=str(home))}
    defs = dg.Definitions(assets=assets, resources=resources)

    def tick(cursor):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        keys = {r.key.to_user_string() for r in result.results if r.true_subset.size}
        return result.cursor, keys - {"token_usage"}

    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("raw_events"))
        assert dg.materialize(assets, instance=instance, resources=resources).success
        cursor, _ = tick(None)
        cursor, keys = tick(cursor)
        assert keys == set()  # nothing new: nothing to do
        instance.report_runless_asset_event(dg.AssetMaterialization("raw_events"))  # ingest
        cursor, keys = tick(cursor)
        assert keys == ANALYTICS_KEYS
        assert dg.materialize(assets, instance=instance, resources=resources,
                              selection=sorted(keys)).success
        for _ in range(3):
            cursor, keys = tick(cursor)
            assert keys == set()
