"""The real Claude Code CLI writes a transcript; importing it gives one event per line, and
what usage and tool analytics need survives the privacy filter.

No hooks are installed: this is the "history without hooks" path of ``blueplane import``.
"""

from __future__ import annotations

import json

import pytest
from harness import run_session

from blueplane_pipeline.analytics.refresh import refresh_all
from blueplane_pipeline.core import config
from blueplane_pipeline.sources.run import run_import
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events

pytestmark = pytest.mark.slow


def test_real_transcript_imports_line_for_line(claude_cli, redis_home, tmp_path):
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    run = run_session(claude_cli, project, home, redis_home)
    assert run.returncode == 0, run.stderr
    files = sorted((home / ".claude" / "projects").glob("**/*.jsonl"))
    assert files, "the CLI wrote no transcript"
    raw = [ln for p in files for ln in p.read_bytes().splitlines() if ln.strip()]
    lines = [json.loads(ln) for ln in raw]
    # A line is identified by its uuid, else by its bytes: CLI 2.1 repeats some uuid-less
    # marker lines byte for byte (``atis-latch``), and those are one event.
    identities = {ln.get("uuid") or r for ln, r in zip(lines, raw, strict=True)}

    result = run_import("claude_code", [home / ".claude"])
    assert result.imported.events == len(lines) and result.imported.invalid_lines == 0
    assert result.imported.unknown_types == 0, result.imported.event_types
    assert result.ingested.events_stored == len(identities)
    conn = open_db(config.db_path())
    try:
        stored = [e.envelope for e in iter_events(conn, platform="claude_code")]
    finally:
        conn.close()
    assert len(stored) == len(identities)
    assert {e["payload"]["_line"] for e in stored} <= set(range(1, len(raw) + 1))

    blocks = [b for e in stored for b in (e["payload"].get("message") or {}).get("content") or []
              if isinstance(b, dict)]
    uses = {b["id"]: b["name"] for b in blocks if b.get("type") == "tool_use"}
    assert uses == {"toolu_e2e_ok": "Bash", "toolu_e2e_fail": "Bash",
                    "toolu_e2e_refused": "Bash"}
    results = {b["tool_use_id"]: b for b in blocks if b.get("type") == "tool_result"}
    assert results["toolu_e2e_fail"].get("is_error") is True
    refusal = results["toolu_e2e_refused"]["content"]  # a refusal stays readable
    assert isinstance(refusal, str) and "needs approval." in refusal
    assert results["toolu_e2e_ok"]["content"]["redacted"] is True  # tool output: size only
    usage = [e["payload"]["message"]["usage"] for e in stored
             if e["event_type"] == "assistant" and "usage" in e["payload"]["message"]]
    source_usage = [ln["message"]["usage"] for ln in lines
                    if ln.get("type") == "assistant" and "usage" in ln.get("message", {})]
    assert usage and sorted(map(json.dumps, usage)) == sorted(map(json.dumps, source_usage))

    # The analytics read the real CLI's wording: one success, one error, one refusal.
    conn = open_db(config.db_path())
    try:
        refresh_all(conn)
        status = dict(conn.execute("SELECT tool_use_id, status FROM tool_calls"))
    finally:
        conn.close()
    assert status == {"toolu_e2e_ok": "success", "toolu_e2e_fail": "error",
                      "toolu_e2e_refused": "rejected"}
