"""A purge leaves no copy anywhere under BLUEPLANE_HOME: not in SQLite's WAL or free pages,
not in Redis' append-only file (which keeps every event ever sent until it is rewritten),
not among the dead letters."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.capture.installers import hook_command
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest import stream
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import connect


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not p.is_socket() and needle in p.read_bytes()]


def _wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_purge_leaves_no_copy_on_disk(redis_client, monkeypatch):
    monkeypatch.setenv("BLUEPLANE_PRIVACY_MODE", "full")
    home = config.home()
    marker = f"purge-marker-{uuid.uuid4().hex}"
    for event in ("UserPromptSubmit", "Stop"):
        payload = {"session_id": "s-purge", "hook_event_name": event, "prompt": marker,
                   "cwd": "/work/x"}
        subprocess.run(hook_command("claude-code", sys.executable).split(" || ")[0],
                       input=json.dumps(payload).encode(), shell=True, check=True, timeout=30)
    redis_client.xadd(config.STREAM_KEY, {"e": f"not an envelope {marker}"})
    for _ in range(stream.MAX_FAILURES):
        ingest(config.db_path(), stale_ms=0)
    assert stream.state(redis_client).dlq == 1
    aof = home / "redis" / "appendonly.aof"
    assert _wait_for(lambda: marker.encode() in aof.read_bytes()), \
        "the AOF should hold the events before the purge (else this test proves nothing)"

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    result = CliRunner().invoke(cli, ["purge", "--before", tomorrow, "--yes", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["events"] == 2 and report["aof_rewritten"] is True
    assert report["dead_letters_deleted"] == 1

    assert _files_holding(home, marker.encode()) == []
    conn = connect(config.db_path(), readonly=True)
    try:
        assert conn.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 0
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    finally:
        conn.close()
    wal = config.db_path().with_name("telemetry.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
