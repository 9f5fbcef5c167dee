"""`blueplane up` runs the real Dagster daemon: a hook event reaches raw_events on its own."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blueplane_pipeline.core import config
from blueplane_pipeline.runtime import redis_server, services

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blueplane(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "blueplane"), *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def hook(payload: dict) -> None:
    subprocess.run([str(BIN / "blueplane-hook"), "claude-code"], input=json.dumps(payload).encode(),
                   check=True, timeout=30)


def stored_by_dagster() -> int:
    from blueplane_pipeline.storage.db import connect

    if not config.db_path().exists():
        return 0
    conn = connect(config.db_path(), readonly=True)
    try:
        return conn.execute(
            "SELECT coalesce(sum(events_stored), 0) FROM ingest_runs"
            " WHERE trigger LIKE 'dagster:%'").fetchone()[0]
    finally:
        conn.close()


def analytics_rows(session_id: str = "daemon-test") -> tuple[int, int] | None:
    """(sessions, tool_calls) rows for the test session, once the tables exist."""
    import sqlite3

    from blueplane_pipeline.storage.db import connect

    conn = connect(config.db_path(), readonly=True)
    try:
        sessions = conn.execute(
            "SELECT count(*) FROM sessions WHERE session_id = ?", (session_id,)).fetchone()[0]
        calls = conn.execute(
            "SELECT count(*) FROM tool_calls WHERE session_id = ? AND status = 'success'",
            (session_id,)).fetchone()[0]
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return (sessions, calls) if sessions else None


def ingest_runs(instance) -> list:
    import dagster as dg

    return [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(job_name="ingest_job"))]


def raw_materializations(instance, run_ids: set[str]) -> list[dict]:
    import dagster as dg

    records = instance.fetch_materializations(dg.AssetKey("raw_events"), limit=200).records
    return [{k: v.value for k, v in r.asset_materialization.metadata.items()}
            for r in records if r.run_id in run_ids]


def send_session(session_id: str = "daemon-test") -> None:
    session = {"session_id": session_id, "cwd": "/tmp/x", "transcript_path": "/tmp/x.jsonl"}
    hook({**session, "hook_event_name": "SessionStart", "source": "startup"})
    hook({**session, "hook_event_name": "PreToolUse", "tool_name": "Bash",
          "tool_input": {"command": "ls"}, "tool_use_id": "toolu_1"})
    hook({**session, "hook_event_name": "PostToolUse", "tool_name": "Bash",
          "tool_input": {"command": "ls"}, "tool_use_id": "toolu_1",
          "tool_response": {"stdout": "a\nb\n", "stderr": ""}, "duration_ms": 5})


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def daemon_log() -> str:
    path = config.logs_dir() / "blueplane-daemon.log"
    return path.read_text()[-4000:] if path.exists() else "(no daemon log)"


@pytest.mark.slow
def test_up_daemon_sensor_ingests_hook_events_then_down(bp_home, monkeypatch):
    """`blueplane up` (the default: Redis + the blueplane daemon, no UI), real hook events:
    they reach raw_events and tool_calls on their own, through Dagster runs executed in
    the daemon's threads that the instance shows with raw_events materializations and
    their metadata; `status` reports what runs and its cost; `down` ends the follow run
    cleanly (SUCCESS, not a killed run)."""
    import dagster as dg

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(bp_home / "no-claude"))
    up = blueplane("up", "--no-collector", "--json")
    try:
        assert up.returncode == 0, up.stderr
        where = json.loads(up.stdout)
        assert where["redis"].startswith("unix://")
        assert where["blueplane-daemon"] == "running"
        assert "dagster-webserver" not in where and "datasette" not in where  # on demand
        # `up` returns once the daemon has created Dagster's storage (one alembic head in
        # each database), so a UI started right after cannot race it into two heads.
        assert services.daemon_ready_file().exists()
        dbs = sorted(config.dagster_home().rglob("*.db"))
        assert dbs
        for db in dbs:
            conn = sqlite3.connect(db)
            try:
                heads = conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0]
            except sqlite3.OperationalError:
                heads = 0  # a per-run event log database has no alembic table
            finally:
                conn.close()
            assert heads <= 1, db

        send_session()
        assert wait_for(lambda: stored_by_dagster() == 3, 60), daemon_log()
        # The follow run keeps the analytics fresh itself, seconds after the hook.
        assert wait_for(lambda: analytics_rows() == (1, 1), 60), daemon_log()

        status = json.loads(blueplane("status", "--json").stdout)
        daemon = status["services"]["blueplane-daemon"]
        assert daemon["up"] is True and daemon["group"] == "core"
        assert daemon["cost"]["rss_mb"] > 20 and daemon["cost"]["cpu_s"] > 0
        assert status["services"]["dagster-webserver"]["up"] is False
        assert status["cost"]["processes"] >= 2  # Redis and the daemon
        assert status["services"]["redis"]["up"] is True
        assert status["storage"]["raw_events"] == 3
        assert status["stream"]["lag"] == 0
        assert status["storage"]["last_ingest"]["trigger"].startswith("dagster:")
        human = blueplane("status").stdout
        assert "CPU-s" in human and "on demand: blueplane ui" in human

        with dg.DagsterInstance.from_config(str(config.dagster_home())) as instance:
            def reported() -> list[dict]:
                ids = {r.run_id for r in ingest_runs(instance)}
                return raw_materializations(instance, ids)

            # A materialization per reporting window (30 s) while the run follows.
            assert wait_for(lambda: sum(m.get("events_stored", 0) for m in reported()) == 3,
                            75), daemon_log()
            runs = ingest_runs(instance)
            assert runs and all(r.tags["blueplane/launch"] == "thread" for r in runs)
            pids = {r.tags["blueplane/pid"] for r in runs}
            assert pids == {str(status["services"]["blueplane-daemon"]["pid"])}
            meta = next(m for m in reported() if m.get("events_stored"))
            assert meta["stored_bytes"] > 0 and "batch_p95_ms" in meta
            run_ids = {r.run_id for r in runs}
    finally:
        down = blueplane("down")
    assert down.returncode == 0
    assert "blueplane-daemon" in down.stdout and "redis" in down.stdout
    assert services.read_pid("blueplane-daemon") is None
    assert not redis_server.ping()
    with dg.DagsterInstance.from_config(str(config.dagster_home())) as instance:
        statuses = {instance.get_run_by_id(rid).status for rid in run_ids}
    assert statuses == {dg.DagsterRunStatus.SUCCESS}


@pytest.mark.slow
def test_a_killed_daemon_mid_batch_loses_and_duplicates_nothing(bp_home, monkeypatch):
    """The daemon (and the follow run in it) is SIGKILLed right after a batch's commit,
    before its XACK. The next `up` marks that run failed and its sensor tick starts a run
    that stores nothing twice: three events, three rows, one tool call."""
    import dagster as dg

    from blueplane_pipeline.orchestration import host

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(bp_home / "no-claude"))
    monkeypatch.setenv(host.CRASH_ENV, "1:kill")
    assert blueplane("up", "--no-collector").returncode == 0
    try:
        send_session("crash-test")
        assert wait_for(lambda: services.read_pid("blueplane-daemon") is None, 60), daemon_log()
        assert raw_count() == (3, 3)  # committed before the kill, never acknowledged
        assert stream_pending() == 3
        monkeypatch.delenv(host.CRASH_ENV)
        again = blueplane("up", "--no-collector")
        assert again.returncode == 0, again.stderr
        with dg.DagsterInstance.from_config(str(config.dagster_home())) as instance:
            def recovered() -> bool:
                statuses = [r.status for r in ingest_runs(instance)]
                return (len(statuses) >= 2
                        and dg.DagsterRunStatus.FAILURE in statuses
                        and stream_pending() == 0)

            assert wait_for(recovered, 60), daemon_log()
            assert wait_for(lambda: analytics_rows("crash-test") == (1, 1), 60), daemon_log()
            ids = {r.run_id for r in ingest_runs(instance)}
            assert wait_for(lambda: sum(m.get("duplicates_skipped", 0) for m in
                                        raw_materializations(instance, ids)) == 3, 40)
        assert raw_count() == (3, 3)
    finally:
        blueplane("down")


@pytest.mark.slow
def test_the_ui_starts_on_demand_and_stops_alone(bp_home, monkeypatch):
    """`blueplane ui` adds the Dagster UI beside a running `up` (it shows the daemon's
    sensors running), `blueplane ui --stop` stops only it; the daemon keeps going."""
    import urllib.request

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(bp_home / "no-claude"))
    port = free_port()
    assert blueplane("up", "--no-collector").returncode == 0
    try:
        ui = blueplane("ui", "--no-datasette", "--dagster-port", str(port), "--json")
        assert ui.returncode == 0, ui.stderr
        assert json.loads(ui.stdout)["dagster-webserver"] == f"http://127.0.0.1:{port}"
        query = json.dumps({"query": "{ instance { daemonHealth { allDaemonStatuses {"
                                     " daemonType healthy } } } }"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            daemons = json.loads(resp.read())["data"]["instance"]["daemonHealth"]
        healthy = {d["daemonType"]: d["healthy"] for d in daemons["allDaemonStatuses"]}
        assert healthy["SENSOR"] and healthy["SCHEDULER"] and healthy["BACKFILL"], healthy
        status = json.loads(blueplane("status", "--json").stdout)
        assert status["services"]["dagster-webserver"]["up"] is True
        assert status["services"]["dagster-webserver"]["cost"]["rss_mb"] > 20
        stop = blueplane("ui", "--stop")
        assert "dagster-webserver" in stop.stdout and "dagster-code" in stop.stdout
        status = json.loads(blueplane("status", "--json").stdout)
        assert status["services"]["dagster-webserver"]["up"] is False
        assert status["services"]["blueplane-daemon"]["up"] is True
    finally:
        blueplane("down")


def raw_count() -> tuple[int, int]:
    """(rows, distinct event ids) in raw_events."""
    from blueplane_pipeline.storage.db import connect

    conn = connect(config.db_path(), readonly=True)
    try:
        return tuple(conn.execute("SELECT count(*), count(DISTINCT event_id) FROM raw_events"
                                  ).fetchone())
    finally:
        conn.close()


def stream_pending() -> int:
    from blueplane_pipeline.ingest import stream

    r = stream.client()
    try:
        return stream.state(r).pending
    finally:
        r.close()


def test_down_leaves_a_redis_it_did_not_start(redis_home):
    """A Redis that was already running (not started by `up`) survives `down`."""
    up = blueplane("up", "--no-dagster", "--no-datasette", "--no-collector")
    assert up.returncode == 0, up.stderr
    down = blueplane("down")
    assert down.returncode == 0
    assert redis_server.ping()


def test_status_without_anything_running(bp_home):
    res = blueplane("status", "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["services"]["redis"]["up"] is False
    assert info["stream"] is None
    assert info["storage"]["exists"] is False
    assert info["hook_errors"] == 0
    human = blueplane("status")
    assert "Redis not reachable" in human.stdout


def test_status_counts_logged_hook_failures(bp_home):
    (config.logs_dir() / "hook-errors.log").write_text(
        "2026-11-25T10:00:00Z OSError: spool not writable\n"
        "2026-11-25T10:00:01Z OSError: spool not writable\n")
    info = json.loads(blueplane("status", "--json").stdout)
    assert info["hook_errors"] == 2
    assert "hook errors: 2" in blueplane("status").stdout
