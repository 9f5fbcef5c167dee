"""The README's first command ends in `blueplane demo`: it must run the real pipeline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from blueplane_pipeline.storage.db import connect

BIN = Path(sys.executable).parent


def test_demo_runs_hook_ingest_job_and_analytics(tmp_path, monkeypatch):
    monkeypatch.delenv("BLUEPLANE_HOME", raising=False)
    home = Path(tempfile.mkdtemp(prefix="bp-demo-", dir="/tmp"))  # short: the socket path
    res = subprocess.run([str(BIN / "blueplane"), "demo", "--home", str(home)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    sample = resources.files("blueplane_pipeline").joinpath("data/sample_session.jsonl")
    sent = [json.loads(ln) for ln in sample.read_text().splitlines() if ln.strip()]
    conn = connect(home / "telemetry.db", readonly=True)
    try:
        stored = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
        trigger = conn.execute("SELECT trigger FROM ingest_runs").fetchone()[0]
        calls = dict(conn.execute("SELECT tool_use_id, status FROM tool_calls"))
    finally:
        conn.close()
    assert stored == len(sent)
    assert trigger.startswith("dagster:")  # stored by the Dagster job, not a shortcut
    expected_ids = {e["tool_use_id"] for e in sent if e["hook_event_name"] == "PreToolUse"}
    assert set(calls) == expected_ids
    failed = {e["tool_use_id"] for e in sent if e["hook_event_name"] == "PostToolUseFailure"}
    assert {k for k, v in calls.items() if v == "error"} == failed
    assert f"{len(sent)} stored" in res.stdout
    steps = [ln.split(" ", 1)[0] for ln in res.stdout.splitlines() if ln[:1].isdigit()
             and "/" in ln.split(" ", 1)[0]]
    assert steps == [f"{i}/{len(steps)}" for i in range(1, len(steps) + 1)], steps
    # The embedded Redis the demo started is shut down again (it removes its pid file).
    assert not (home / "redis" / "redis.pid").exists()
    shutil.rmtree(home)
