"""The team's Dagster deployment on Postgres storage, run for real without containers:
the rollups materialize and their checks pass, the run and its materializations are rows
in the team Postgres and no SQLite storage is written; ``blueplane team up`` serves the
same code location (code server + daemon + webserver) and runs a job launched through
the webserver. And the laptop's publish asset: skipped cleanly without ``team.url``.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import dagster as dg
import pytest

from blueplane_pipeline.team.deployment import INSTANCE_YAML
from blueplane_pipeline.team.settings import sqlalchemy_url
from tests._team import (
    PROJECTS,
    as_home,
    laptops,  # noqa: F401 - fixture
    pg_rows,
    team_url,  # noqa: F401 - fixture
)

REPO = Path(__file__).resolve().parents[2]
ROLLUPS = {"team_usage_daily", "team_activity_daily", "team_tool_daily", "team_outliers"}


def sqlite_files(root: Path) -> list[Path]:
    out = []
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                if fh.read(16) == b"SQLite format 3\x00":
                    out.append(path)
    return out


def test_deploy_files_are_the_ones_team_up_writes():
    import yaml

    deploy = REPO / "deploy" / "team"
    assert (deploy / "dagster.yaml").read_text() == INSTANCE_YAML
    assert yaml.safe_load(INSTANCE_YAML)["storage"]["postgres"]["postgres_url"] == {
        "env": "BLUEPLANE_TEAM_URL"}
    compose = yaml.safe_load((deploy / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "team-code", "team-daemon", "team-webserver"}
    assert "blueplane_pipeline.team.definitions" in services["team-code"]["command"]
    for service in services.values():  # nothing listens beyond loopback by default
        assert all(p.startswith("127.0.0.1:") for p in service.get("ports", []))
    workspace = yaml.safe_load((deploy / "workspace.yaml").read_text())
    server = workspace["load_from"][0]["grpc_server"]
    assert (server["host"], server["port"]) == ("team-code", 4000)
    assert str(server["port"]) in services["team-code"]["command"]
    assert services["team-code"]["build"]["dockerfile"] == "deploy/team/Dockerfile"
    assert (deploy / "Dockerfile").exists() and (deploy / "README.md").exists()


def test_rollups_run_on_postgres_storage(team_url, laptops, tmp_path, monkeypatch):  # noqa: F811
    for name, part in (("a", PROJECTS[:5]), ("b", PROJECTS[5:])):
        laptops(name, part, team_url=team_url, developer=name).cli("team", "publish")
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((REPO / "deploy/team/dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("BLUEPLANE_TEAM_URL", sqlalchemy_url(team_url))
    from blueplane_pipeline.team.definitions import defs

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = defs.resolve_job_def("team_rollups_job").execute_in_process(instance=instance)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert len(checks) == 10 and all(checks.values()), checks

    run_id = result.run_id
    assert pg_rows(team_url, "SELECT status FROM runs WHERE run_id = %s", run_id) == [
        ("SUCCESS",)]
    materialized = {r[0] for r in pg_rows(
        team_url, "SELECT asset_key FROM event_logs WHERE run_id = %s AND dagster_event_type"
                  " = 'ASSET_MATERIALIZATION'", run_id)}
    assert materialized == {f'["{name}"]' for name in ROLLUPS}
    assert pg_rows(team_url, "SELECT count(*) FROM asset_check_executions WHERE run_id = %s"
                             " AND execution_status = 'SUCCEEDED'", run_id) == [(10,)]
    assert sqlite_files(dagster_home) == []

    # the rollups equal the facts
    assert pg_rows(team_url, "SELECT sum(total_tokens) FROM blueplane.team_usage_daily") == \
        pg_rows(team_url, "SELECT sum(input_tokens + output_tokens + cache_creation_tokens"
                          " + cache_read_tokens) FROM blueplane.usage_facts")
    assert pg_rows(team_url, "SELECT sum(sessions) FROM blueplane.team_activity_daily")[0][0] \
        == 15


def test_a_check_fails_when_a_rollup_lost_a_row(team_url, laptops, tmp_path):  # noqa: F811
    from blueplane_pipeline.team import integrity, pg, rollups

    laptops("x", PROJECTS[:3], team_url=team_url).cli("team", "publish")
    conn = pg.open_store(team_url)
    try:
        rollups.rebuild(conn, "team_usage_daily")
        assert integrity.totals_match_facts(conn, "team_usage_daily")[0]
        with conn.cursor() as cur:
            cur.execute("DELETE FROM blueplane.team_usage_daily WHERE ctid IN "
                        "(SELECT ctid FROM blueplane.team_usage_daily LIMIT 1)")
        conn.commit()
        passed, details = integrity.totals_match_facts(conn, "team_usage_daily")
        assert not passed and details["compared_with"] == "live facts"
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_team_up_serves_the_location_and_runs_a_job(team_url, laptops):  # noqa: F811
    from dagster_graphql import DagsterGraphQLClient

    laptop = laptops("up", PROJECTS[:4], team_url=team_url)
    laptop.cli("team", "publish")
    port = _free_port()
    try:
        out = laptop.cli("team", "up", "--port", str(port)).output
        assert f"http://127.0.0.1:{port}" in out
        status = laptop.json("team", "status", "--json")["deployment"]
        assert all(status.values()), status
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("team_rollups_job",
                                             repository_location_name="blueplane_team",
                                             repository_name="__repository__")
        deadline = time.monotonic() + 240
        state = None
        while time.monotonic() < deadline:
            state = pg_rows(team_url, "SELECT status FROM runs WHERE run_id = %s", run_id)
            if state and state[0][0] in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
        assert state == [("SUCCESS",)], state
        assert len(pg_rows(team_url, "SELECT 1 FROM event_logs WHERE run_id = %s AND "
                                     "dagster_event_type = 'ASSET_MATERIALIZATION'",
                           run_id)) == 4
        assert sqlite_files(laptop.home / "team" / "dagster") == []
    finally:
        down = laptop.cli("team", "down").output
    assert "team-webserver" in down
    assert not any(laptop.json("team", "status", "--json")["deployment"].values())


def test_laptop_asset_skips_without_a_team_url_and_publishes_with_one(
        team_url, laptops, tmp_path):  # noqa: F811
    from blueplane_pipeline.orchestration.assets.team import (
        team_facts_published,
        team_publish_schedule,
    )
    from blueplane_pipeline.orchestration.resources import BlueplaneResource

    laptop = laptops("asset", PROJECTS[:2])
    resources = {"blueplane": BlueplaneResource(home=str(laptop.home))}
    with as_home(laptop.home), dg.instance_for_test() as instance:
        result = dg.materialize([team_facts_published], resources=resources, instance=instance)
        meta = result.asset_materializations_for_node("team_facts_published")[0].metadata
        assert meta["published"].value is False and "team.url is not set" in meta["reason"].value
        tick = team_publish_schedule(dg.build_schedule_context(instance=instance))
        assert isinstance(tick, dg.SkipReason) and "team.url is not set" in tick.skip_message
        assert not (laptop.home / "team" / "publish_state.db").exists()

        laptop.cli("config", "set", "team.url", team_url)
        assert isinstance(team_publish_schedule(dg.build_schedule_context(instance=instance)),
                          dg.RunRequest)
        result = dg.materialize([team_facts_published], resources=resources, instance=instance)
        meta = result.asset_materializations_for_node("team_facts_published")[0].metadata
        assert meta["published"].value is True and meta["rows_upserted"].value > 0
    sessions = laptop.rows("SELECT count(*) FROM sessions")[0][0]
    assert pg_rows(team_url, "SELECT count(*) FROM blueplane.session_facts") == [(sessions,)]
    assert os.environ.get("BLUEPLANE_TEAM_URL") is None
