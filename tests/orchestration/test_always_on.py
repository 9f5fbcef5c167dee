"""The always-on shape (issue 8): a follow ingest run, the thread launcher, the daemon.

Real Redis, real SQLite, real Dagster execution and sensor/launcher code; the only fake is
an injected crash (``host.CRASH_ENV``) at the one point where a crash must neither lose
nor duplicate anything: after a batch's commit, before its XACK.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time

import dagster as dg
import pytest

from blueplane_pipeline.core import config
from blueplane_pipeline.core.envelope import dumps, make_envelope
from blueplane_pipeline.definitions import defs
from blueplane_pipeline.ingest import stream
from blueplane_pipeline.orchestration import host, launcher
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.orchestration.sensors import follow_run_config, redis_stream_sensor
from blueplane_pipeline.storage.db import connect

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _follow_config(idle_s: float, report_every_s: float = 0.2) -> dict:
    cfg = follow_run_config(idle_s)
    cfg["ops"]["raw_events"]["config"]["report_every_s"] = report_every_s
    return {**cfg, **QUIET}


def _pair(r, session: str, i: int) -> None:
    """A PreToolUse + PostToolUse pair of one Bash call, as the hook sends it."""
    base = {
        "session_id": session,
        "cwd": "/tmp/x",
        "tool_name": "Bash",
        "tool_input": {"command": f"echo {i}"},
        "tool_use_id": f"toolu_{session}_{i}",
    }
    for name, extra in (
        ("PreToolUse", {}),
        ("PostToolUse", {"tool_response": {"stdout": "ok", "stderr": ""}}),
    ):
        env = make_envelope(
            "claude_code",
            "hook",
            name,
            {**base, **extra, "hook_event_name": name},
            session_id=session,
        )
        r.xadd(config.STREAM_KEY, {"e": dumps(env)})


def _count(sql: str) -> int:
    """The count, or 0 while the database or its tables are still being created."""
    if not config.db_path().exists():
        return 0
    conn = connect(config.db_path(), readonly=True)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def _materializations(instance, key: str, run_id: str) -> list[dict]:
    records = instance.fetch_materializations(dg.AssetKey(key), limit=100).records
    return [
        {k: v.value for k, v in r.asset_materialization.metadata.items()}
        for r in records
        if r.run_id == run_id
    ]


def test_a_follow_run_keeps_draining_and_reports_each_window(redis_client):
    """One run drains what is there, follows what comes later, keeps the analytics fresh
    while it runs, and reports raw_events and the analytics as materializations of its own
    (with their metadata) and the checks' evaluations, then ends once the stream is quiet."""
    _pair(redis_client, "follow", 0)
    job = defs.resolve_job_def("ingest_job")
    result: dict = {}
    with dg.instance_for_test() as instance:
        worker = threading.Thread(
            target=lambda: result.update(
                run=job.execute_in_process(
                    instance=instance, run_config=_follow_config(idle_s=2.0), raise_on_error=False
                )
            )
        )
        worker.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _count("SELECT count(*) FROM raw_events") < 2:
            time.sleep(0.05)
        for i in range(1, 4):  # arrives while the run follows
            _pair(redis_client, "follow", i)
            time.sleep(0.3)
        # The tables follow the stream while the run is still going.
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline
            and _count("SELECT count(*) FROM tool_calls WHERE status = 'success'") < 4
        ):
            time.sleep(0.05)
        assert worker.is_alive(), "the run should still be following"
        worker.join(60)
        run = result["run"]
        assert run.success
        raw = _materializations(instance, "raw_events", run.run_id)
        assert len(raw) >= 2  # one per window, not one per run
        assert sum(m.get("events_stored", 0) for m in raw) == 8
        assert max(m.get("follow_events_stored", 0) for m in raw) == 8
        calls = _materializations(instance, "tool_calls", run.run_id)
        assert sum(m["rows_changed"] for m in calls) >= 4
        assert _materializations(instance, "sessions", run.run_id)
        # The surfaces the statusline, budgets and search read follow too.
        assert (
            sum(m["rows_changed"] for m in _materializations(instance, "search_index", run.run_id))
            > 0
        )
        assert _materializations(instance, "spend_state", run.run_id)
        checks = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        )
        evaluations = [
            c.event_log_entry.dagster_event.event_specific_data
            for c in checks
            if c.run_id == run.run_id
        ]
        assert {e.check_name for e in evaluations} >= {
            "tool_calls_unique_keys",
            "session_counts_match_rows",
        }
        assert all(e.passed for e in evaluations)
    assert _count("SELECT count(*) FROM raw_events") == 8
    assert _count("SELECT count(*) FROM tool_calls WHERE status = 'success'") == 4
    assert stream.state(redis_client).pending == 0


def test_a_crash_mid_follow_loses_and_duplicates_nothing(redis_client, monkeypatch):
    """2,500 entries, batches of 1,000; the run dies right after its second commit (the
    second batch stored, not acknowledged; the last 500 read ahead, not stored). The next
    sensor tick asks for a run, which stores everything exactly once."""
    for i in range(1250):
        _pair(redis_client, "crash", i)
    monkeypatch.setenv(host.CRASH_ENV, "2:raise")
    job = defs.resolve_job_def("ingest_job")
    with dg.instance_for_test() as instance:
        crashed = job.execute_in_process(
            instance=instance, run_config=_follow_config(0.5), raise_on_error=False
        )
        assert not crashed.success
        assert _count("SELECT count(*) FROM raw_events") == 2000
        assert stream.state(redis_client).pending == 1500
        monkeypatch.delenv(host.CRASH_ENV)

        tick = redis_stream_sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance, definitions=defs, resources={"blueplane": BlueplaneResource()}
            )
        )
        (request,) = tick.run_requests
        assert request.run_config == follow_run_config()
        again = job.execute_in_process(instance=instance, run_config=_follow_config(0.5))
        assert again.success
        raw = _materializations(instance, "raw_events", again.run_id)
        assert sum(m.get("events_stored", 0) for m in raw) == 500
        assert sum(m.get("duplicates_skipped", 0) for m in raw) == 1000
    assert _count("SELECT count(*) FROM raw_events") == 2500
    assert _count("SELECT count(DISTINCT event_id) FROM raw_events") == 2500
    assert _count("SELECT count(*) FROM tool_calls WHERE session_id = 'crash'") == 1250
    s = stream.state(redis_client)
    assert (s.pending, s.lag) == (0, 0)


@pytest.mark.parametrize(
    ("job", "tags", "run_config", "heavy"),
    [
        ("ingest_job", {}, follow_run_config(), False),
        ("analytics_catchup_job", {}, {}, False),
        ("claude_code_import_job", {}, {}, False),
        (
            "analytics_job",
            {},
            {"ops": {"session_tables": {"config": {"full_rebuild": True}}}},
            True,
        ),
        (
            "analytics_job",
            {},
            {"ops": {"session_tables": {"config": {"full_rebuild": False}}}},
            False,
        ),
        ("ingest_job", {"dagster/backfill": "abc"}, {}, True),
        ("ingest_job", {launcher.LAUNCH_TAG: "process"}, {}, True),
        ("__ASSET_JOB", {}, {}, True),
    ],
)
def test_which_runs_get_a_process_of_their_own(job, tags, run_config, heavy):
    assert launcher.is_heavy(job, tags, run_config) is heavy


def test_runs_left_in_flight_by_a_dead_daemon_are_failed(bp_home):
    with dg.instance_for_test() as instance:

        def add(tags: dict) -> str:
            run = instance.add_run(
                dg.DagsterRun(job_name="ingest_job", tags=tags, status=dg.DagsterRunStatus.STARTED)
            )
            return run.run_id

        orphan = add({launcher.LAUNCH_TAG: "thread", launcher.PID_TAG: str(os.getppid())})
        ours = add({launcher.LAUNCH_TAG: "thread", launcher.PID_TAG: str(os.getpid())})
        child_alive = add({launcher.LAUNCH_TAG: "process", launcher.PID_TAG: str(os.getppid())})
        child_gone = add({launcher.LAUNCH_TAG: "process", launcher.PID_TAG: "999999999"})
        failed = launcher.fail_orphans(instance, alive=lambda pid: pid != 999999999)
        assert set(failed) == {orphan, child_gone}
        statuses = {
            rid: instance.get_run_by_id(rid).status
            for rid in (orphan, ours, child_alive, child_gone)
        }
    assert statuses[orphan] == dg.DagsterRunStatus.FAILURE
    assert statuses[child_gone] == dg.DagsterRunStatus.FAILURE
    assert statuses[ours] == statuses[child_alive] == dg.DagsterRunStatus.STARTED


@pytest.fixture
def hosting(redis_home, monkeypatch):
    """This process hosts runs as the daemon does, on blueplane's own dagster.yaml."""
    from blueplane_pipeline.orchestration.instance import ensure_instance

    monkeypatch.setenv("DAGSTER_HOME", str(ensure_instance()))
    launcher.host_runs_in_this_process()
    with dg.DagsterInstance.get() as instance:
        yield instance
        instance.run_launcher.join(60)
    launcher._hosting.clear()
    host.SHUTDOWN.clear()


def _submit(instance, job_name: str, run_config: dict) -> str:
    """Submit a run the way a sensor or the UI does: created from the code location, then
    handed to the instance's run coordinator and launcher."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    from blueplane_pipeline.orchestration.daemon import CODE_MODULE, LOCATION_NAME

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=CODE_MODULE),
        location_name=LOCATION_NAME,
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as ctx:
        request = ctx.create_request_context()
        repo = request.get_code_location(LOCATION_NAME).get_repository("__repository__")
        remote = repo.get_full_job(job_name)
        run = instance.create_run_for_job(
            job_def=defs.resolve_job_def(job_name),
            run_config=run_config,
            remote_job_origin=remote.get_remote_origin(),
            job_code_origin=remote.get_python_origin(),
        )
        instance.submit_run(run.run_id, request)
    return run.run_id


def _wait_finished(instance, run_id: str, timeout: float):
    """The run's record once it has finished (its end_time set)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = instance.get_run_record_by_id(run_id)
        if record.dagster_run.is_finished:
            return record
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {instance.get_run_by_id(run_id).status}")


def test_a_full_rebuild_gets_its_own_process_and_ingest_goes_on(hosting, redis_client):
    instance = hosting
    for i in range(20):
        _pair(redis_client, "before", i)
    first = _submit(instance, "ingest_job", _follow_config(0.5))
    _wait_finished(instance, first, 60)
    rebuild = _submit(
        instance,
        "analytics_job",
        {
            **QUIET,
            "ops": {
                "session_tables": {"config": {"full_rebuild": True}},
                "daily_rollups": {"config": {"full_rebuild": True}},
            },
        },
    )
    # While the rebuild starts its own interpreter, new events are ingested in a thread.
    for i in range(5):
        _pair(redis_client, "during", i)
    follow = _submit(instance, "ingest_job", _follow_config(0.5))
    ingest_record = _wait_finished(instance, follow, 60)
    # The rebuild is still running (or at least finished later): ingest never waited for it.
    rebuild_record = _wait_finished(instance, rebuild, 120)
    assert ingest_record.end_time < rebuild_record.end_time
    ingest_run, rebuild_run = ingest_record.dagster_run, rebuild_record.dagster_run
    assert ingest_run.status == rebuild_run.status == dg.DagsterRunStatus.SUCCESS
    assert ingest_run.tags[launcher.LAUNCH_TAG] == "thread"
    assert ingest_run.tags[launcher.PID_TAG] == str(os.getpid())
    assert rebuild_run.tags[launcher.LAUNCH_TAG] == "process"
    assert rebuild_run.tags[launcher.PID_TAG] != str(os.getpid())
    assert _count("SELECT count(*) FROM raw_events") == 50
    assert _count("SELECT count(*) FROM tool_calls WHERE status = 'success'") == 25
    sessions = _materializations(instance, "sessions", rebuild)
    assert sessions and sessions[0]["full_rebuild"] is True


def test_the_analytics_take_a_bounded_share_of_the_time():
    """A refresh that took 1 s (a long session rebuilt in full) is followed by a 3 s pause
    at the default duty of 25 %; short refreshes wait only for their events to settle."""
    from blueplane_pipeline.orchestration.live_refresh import LiveRefresh

    live = LiveRefresh(BlueplaneResource(), settle_s=0.25, duty=0.25)
    live._last_took = 0.01
    assert live._pause() == 0.25
    live._last_took = 1.0
    assert live._pause() == pytest.approx(3.0)
