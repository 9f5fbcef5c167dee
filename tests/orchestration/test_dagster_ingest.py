"""Dagster wiring of ingest: the job, the sensor's decisions, run pruning, definitions."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.core.envelope import dumps, make_envelope
from blueplane_pipeline.definitions import defs
from blueplane_pipeline.ingest.trigger import ingest_decision
from blueplane_pipeline.orchestration.maintenance import prune_runs
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.orchestration.sensors import redis_stream_sensor
from blueplane_pipeline.storage.db import connect
from blueplane_pipeline.storage.reader import iter_events
from tests.conftest import load_hook_payloads

REPO = Path(__file__).resolve().parents[2]


def _xadd_payloads(r, payloads: list[dict]) -> list[dict]:
    envs = [make_envelope("claude_code", "hook", p.get("hook_event_name", "unknown"), p,
                          session_id=p.get("session_id")) for p in payloads]
    for env in envs:
        r.xadd(config.STREAM_KEY, {"e": dumps(env)})
    return envs


def _quiet() -> dict:
    return {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def test_ingest_job_stores_stream_events_and_reports_metadata(redis_client):
    envs = _xadd_payloads(redis_client, load_hook_payloads())
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance,
                                                                   run_config=_quiet())
    assert result.success
    (mat,) = result.asset_materializations_for_node("raw_events")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["events_stored"] == len(envs)
    assert meta["duplicates_skipped"] == 0
    assert meta["remaining_lag"] == 0
    assert 0 < meta["stored_bytes"] < meta["raw_bytes"]
    conn = connect(config.db_path(), readonly=True)
    stored = [e.envelope for e in iter_events(conn)]
    assert stored == envs


def test_ingest_job_twice_stores_nothing_twice(redis_client):
    payloads = load_hook_payloads()[:10]
    envs = _xadd_payloads(redis_client, payloads)
    job = defs.resolve_job_def("ingest_job")
    with dg.instance_for_test() as instance:
        job.execute_in_process(instance=instance, run_config=_quiet())
        for env in envs:  # the same events delivered again
            redis_client.xadd(config.STREAM_KEY, {"e": dumps(env)})
        second = job.execute_in_process(instance=instance, run_config=_quiet())
    (mat,) = second.asset_materializations_for_node("raw_events")
    assert mat.metadata["events_stored"].value == 0
    assert mat.metadata["duplicates_skipped"].value == len(envs)


@pytest.mark.parametrize(
    ("kwargs", "launch"),
    [
        ({"in_flight": 1, "lag": 50, "pending": 0, "spool_files": 3}, False),
        ({"in_flight": 0, "lag": 0, "pending": 0, "spool_files": 0}, False),
        ({"in_flight": 0, "lag": 5, "pending": 0, "spool_files": 0}, True),
        ({"in_flight": 0, "lag": 0, "pending": 2, "spool_files": 0}, True),
        ({"in_flight": 0, "lag": None, "pending": None, "spool_files": 1,
          "redis_error": "down"}, True),
        ({"in_flight": 0, "lag": None, "pending": None, "spool_files": 0,
          "redis_error": "down"}, False),
    ],
)
def test_ingest_decision(kwargs, launch):
    assert ingest_decision(**kwargs)[0] is launch


def _evaluate(instance) -> object:
    ctx = dg.build_sensor_context(instance=instance, definitions=defs,
                                 resources={"blueplane": BlueplaneResource()})
    return redis_stream_sensor.evaluate_tick(ctx)


def test_sensor_requests_a_run_only_with_lag_and_nothing_in_flight(redis_client):
    with dg.instance_for_test() as instance:
        idle = _evaluate(instance)
        assert idle.run_requests == []
        assert "no lag" in idle.skip_message

        _xadd_payloads(redis_client, load_hook_payloads()[:3])
        busy = _evaluate(instance)
        assert len(busy.run_requests) == 1

        # A run already started (queued runs are counted the same way).
        instance.add_run(dg.DagsterRun(job_name="ingest_job", run_id=str(uuid.uuid4()),
                                       status=dg.DagsterRunStatus.STARTED))
        in_flight = _evaluate(instance)
        assert in_flight.run_requests == []
        assert "in flight" in in_flight.skip_message


def test_sensor_drains_spool_when_redis_is_down(bp_home):
    spool.write(config.spool_dir(), [dumps(make_envelope("claude_code", "hook", "Stop", {}))])
    with dg.instance_for_test() as instance:
        tick = _evaluate(instance)
    assert len(tick.run_requests) == 1


def test_prune_runs_keeps_recent_and_newest(bp_home):
    job = defs.resolve_job_def("prune_runs_job")
    with dg.instance_for_test() as instance:
        for _ in range(4):
            job.execute_in_process(instance=instance, run_config={
                **_quiet(), "ops": {"prune_runs_op": {"config": {"keep_days": 30}}}})
        assert len(instance.get_run_records()) == 4
        assert prune_runs(instance, keep_days=30, keep_last=0) == 0  # all are recent
        assert prune_runs(instance, keep_days=0, keep_last=1) == 3
        assert len(instance.get_run_records()) == 1


def test_definitions_validate_from_workspace():
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w",
         "workspace.yaml"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Validation successful" in proc.stderr + proc.stdout


def test_instance_yaml_launches_in_threads_and_disables_telemetry(bp_home):
    from blueplane_pipeline.orchestration.instance import INGEST_TAG, ensure_instance
    from blueplane_pipeline.orchestration.launcher import ThreadRunLauncher

    home = ensure_instance()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.telemetry_enabled is False
        assert instance.nux_enabled is False  # no "Join the Dagster community" email dialog
        assert isinstance(instance.run_launcher, ThreadRunLauncher)
        # Submitted runs launch at once: no queue daemon needs to run.
        assert "QUEUED_RUN_COORDINATOR" not in instance.get_required_daemon_types()
        assert type(instance.event_log_storage).__name__ == "ConsolidatedSqliteEventLogStorage"
        assert type(instance.compute_log_manager).__name__ == "NoOpComputeLogManager"
    assert defs.resolve_job_def("ingest_job").tags[INGEST_TAG]


def test_catchup_sensor_refreshes_analytics_for_events_stored_outside_dagster(redis_client):
    """`blueplane import`/`ingest` store events without a raw_events materialization, which
    declarative automation cannot see; the catch-up sensor notices the backlog."""
    from blueplane_pipeline.ingest.drain import ingest
    from blueplane_pipeline.orchestration.sensors import analytics_catchup_sensor

    payloads = [p for p in load_hook_payloads() if p.get("session_id")]
    _xadd_payloads(redis_client, payloads)
    ingest()  # in-process, as the CLI does
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, definitions=defs,
                                 resources={"blueplane": BlueplaneResource()})
        tick = analytics_catchup_sensor.evaluate_tick(ctx)
        assert len(tick.run_requests) == 1
        run = defs.resolve_job_def("analytics_catchup_job").execute_in_process(
            instance=instance, run_config=_quiet())
        assert run.success
        settled = analytics_catchup_sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, definitions=defs,
                                 resources={"blueplane": BlueplaneResource()}))
        assert settled.run_requests == [] and "up to date" in settled.skip_message
    conn = connect(config.db_path(), readonly=True)
    sessions = {r[0] for r in conn.execute("SELECT session_id FROM sessions")}
    assert sessions == {p["session_id"] for p in payloads}


def test_the_resource_home_moves_the_sensor_and_the_ingest(tmp_path, redis_client):
    """A BlueplaneResource configured with another home is honoured by the sensor (its
    spool) and by the asset (its database and spool), not only by the database path."""
    other = tmp_path / "other-home"
    resource = BlueplaneResource(home=str(other), redis_url=config.redis_url())
    spool.write(resource.spool_dir, [dumps(make_envelope("claude_code", "hook", "Stop", {}))])
    assert spool.pending_files(config.spool_dir()) == []  # the default home has nothing
    with dg.instance_for_test() as instance:
        tick = redis_stream_sensor.evaluate_tick(dg.build_sensor_context(
            instance=instance, definitions=defs, resources={"blueplane": resource}))
        assert len(tick.run_requests) == 1 and "spool" in tick.run_requests[0].tags[
            "blueplane/reason"]
        from blueplane_pipeline.orchestration.assets.raw import raw_events

        result = dg.materialize([raw_events], instance=instance,
                                resources={"blueplane": resource})
        assert result.success
    assert spool.pending_files(resource.spool_dir) == []
    conn = connect(other / "telemetry.db", readonly=True)
    try:
        assert [e.envelope["event_type"] for e in iter_events(conn)] == ["Stop"]
    finally:
        conn.close()
    assert not config.db_path().exists()
