"""`blueplane up` runs the real Dagster daemon: a hook event reaches raw_events on its own."""

from __future__ import annotations

import json
import os
import socket
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


def analytics_rows() -> tuple[int, int] | None:
    """(sessions, tool_calls) rows for the test session, once the tables exist."""
    import sqlite3

    from blueplane_pipeline.storage.db import connect

    conn = connect(config.db_path(), readonly=True)
    try:
        sessions = conn.execute(
            "SELECT count(*) FROM sessions WHERE session_id = 'daemon-test'").fetchone()[0]
        calls = conn.execute(
            "SELECT count(*) FROM tool_calls WHERE session_id = 'daemon-test'"
            " AND status = 'success'").fetchone()[0]
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return (sessions, calls) if sessions else None


@pytest.mark.slow
def test_up_daemon_sensor_ingests_hook_events_then_down(bp_home):
    port = free_port()
    up = blueplane("up", "--no-datasette", "--no-collector", "--dagster-port", str(port),
                   "--json")
    try:
        assert up.returncode == 0, up.stderr
        where = json.loads(up.stdout)
        assert where["dagster-webserver"] == f"http://127.0.0.1:{port}"
        assert where["redis"].startswith("unix://")

        session = {"session_id": "daemon-test", "cwd": "/tmp/x", "transcript_path": "/tmp/x.jsonl"}
        hook({**session, "hook_event_name": "SessionStart", "source": "startup"})
        hook({**session, "hook_event_name": "PreToolUse", "tool_name": "Bash",
              "tool_input": {"command": "ls"}, "tool_use_id": "toolu_1"})
        hook({**session, "hook_event_name": "PostToolUse", "tool_name": "Bash",
              "tool_input": {"command": "ls"}, "tool_use_id": "toolu_1",
              "tool_response": {"stdout": "a\nb\n", "stderr": ""}, "duration_ms": 5})

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and stored_by_dagster() < 3:
            time.sleep(1)
        daemon_log = (config.logs_dir() / "dagster-daemon.log").read_text()[-3000:]
        assert stored_by_dagster() == 3, daemon_log

        # Declarative automation refreshes the analytics after the ingest run, on its own.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not analytics_rows():
            time.sleep(1)
        assert analytics_rows() == (1, 1), (config.logs_dir() / "dagster-daemon.log").read_text()

        status = json.loads(blueplane("status", "--json").stdout)
        assert status["services"]["dagster-daemon"]["up"] is True
        assert status["services"]["redis"]["up"] is True
        assert status["storage"]["raw_events"] == 3
        assert status["stream"]["lag"] == 0
        assert status["storage"]["last_ingest"]["trigger"].startswith("dagster:")
    finally:
        down = blueplane("down")
    assert down.returncode == 0
    assert "dagster-daemon" in down.stdout and "redis" in down.stdout
    for name in ("dagster-webserver", "dagster-daemon", "dagster-code"):
        assert services.read_pid(name) is None
    assert not redis_server.ping()


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
