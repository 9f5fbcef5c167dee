"""Redactions are counted where the filter runs (the hook), stored per rule by ingest in
the same transaction as the events, and shown by ``blueplane status`` (issue 9 item 4)."""

from __future__ import annotations

import json
import subprocess
import sys

from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise
from tests.capture.test_hook import run_hook, stored_events

SESSION = "5ec12e75-0000-4000-8000-00000000000b"


def _payload(event: str, **fields) -> bytes:
    return json.dumps(
        {"session_id": SESSION, "cwd": "/home/dev/app", "hook_event_name": event, **fields}
    ).encode()


def blueplane(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "blueplane_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def counts_table() -> dict[tuple[str, str], int]:
    conn = open_db(config.db_path())
    try:
        return {
            (p, r): n
            for p, r, n in conn.execute(
                "SELECT platform, rule, sum(count) FROM redaction_counts GROUP BY platform, rule"
            )
        }
    finally:
        conn.close()


def test_hook_counts_reach_the_table_and_status(redis_home):
    prompt = _payload(
        "UserPromptSubmit", prompt="deploy with AKIAIOSFODNN7EXAMPLE and PGPASSWORD=hunter22 now"
    )
    command = _payload(
        "PreToolUse",
        tool_name="Bash",
        tool_use_id="toolu_c",
        tool_input={"command": "curl https://bob:p@ss@host.example/x"},
    )
    clean = _payload("Stop", stop_hook_active=False)
    for data in (prompt, command, clean):
        assert run_hook(data, env={"BLUEPLANE_PRIVACY_MODE": "standard"}).returncode == 0
    ingest(config.db_path(), config.redis_url())
    envs = {e["event_type"]: e for e in stored_events(session_id=SESSION)}
    assert envs["UserPromptSubmit"]["redactions"] == {
        "aws-access-key-id": 1,
        "secret-assignment": 1,
    }
    assert "redactions" not in envs["Stop"]
    assert counts_table() == {
        ("claude_code", "aws-access-key-id"): 1,
        ("claude_code", "secret-assignment"): 1,
        ("claude_code", "url-credentials"): 1,
    }

    info = json.loads(blueplane("status", "--json").stdout)
    assert info["storage"]["redactions"] == {
        "total": 3,
        "by_rule": {"aws-access-key-id": 1, "secret-assignment": 1, "url-credentials": 1},
    }
    assert "redacted: 3 secret(s) before storage" in blueplane("status").stdout


def test_a_redelivered_event_is_counted_once(bp_home):
    from blueplane_pipeline.capture import hook

    line = hook.encode(
        hook.build_envelope(
            "claude_code",
            _payload("UserPromptSubmit", prompt="token=supersecretvalue123"),
            "standard",
        )
    )
    conn = open_db(config.db_path())
    writer = RawEventWriter(conn)
    assert writer.write([normalise(line)]).stored == 1
    assert writer.write([normalise(line), normalise(line)]).duplicates == 2
    conn.close()
    assert counts_table() == {("claude_code", "secret-assignment"): 1}


def test_full_mode_redacts_and_counts_nothing(redis_home):
    data = _payload("UserPromptSubmit", prompt="AKIAIOSFODNN7EXAMPLE")
    assert run_hook(data, env={"BLUEPLANE_PRIVACY_MODE": "full"}).returncode == 0
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events(session_id=SESSION)
    assert env["payload"]["prompt"] == "AKIAIOSFODNN7EXAMPLE" and "redactions" not in env
    assert counts_table() == {}
