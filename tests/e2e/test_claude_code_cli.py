"""The real Claude Code CLI fires its hooks; every event arrives in raw_events exactly once.

A scripted, offline session (tests/e2e/messages_standin.py) makes the CLI run a Bash command
that succeeds, one that fails and one the permission rules refuse. Another tool's hooks,
registered before ours in the same project settings, log what the CLI fired; our hooks
are installed by the real ``blueplane install claude-code --project``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from harness import read_log, run_session, write_reference_hooks

from blueplane_pipeline.capture.installers import owner_of
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.sources.claude_code.hooks import EVENTS as CLAUDE_EVENTS
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events

pytestmark = pytest.mark.slow

REQUIRED = {"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
            "PostToolUseFailure", "PermissionRequest", "Stop", "SessionEnd"}


def _key(payload: dict) -> tuple:
    """Which event this is: its name and the command it is about (PermissionRequest has no
    ``tool_use_id``)."""
    tool_input = payload.get("tool_input") or {}
    return (payload.get("hook_event_name"), tool_input.get("command"))


def _blueplane(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("blueplane")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, check=True)


def test_every_fired_hook_event_arrives_exactly_once(claude_cli, redis_home, tmp_path):
    project, log = tmp_path / "project", tmp_path / "other-tool.log"
    other = write_reference_hooks(project, log, CLAUDE_EVENTS)
    installed = _blueplane("install", "claude-code", "--project", str(project))
    assert "restart" in installed.stdout.lower()

    settings = json.loads((project / ".claude" / "settings.json").read_text())
    for event, groups in other["hooks"].items():
        assert settings["hooks"][event][0] == groups[0]  # the other tool's hook, untouched
        assert owner_of(settings["hooks"][event][-1]["hooks"][0]["command"]) == "claude-code"

    run = run_session(claude_cli, project, tmp_path / "home", redis_home)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["result"].startswith("All three commands ran")

    fired = read_log(log)
    assert {p["hook_event_name"] for p in fired} >= REQUIRED
    session_id = fired[0]["session_id"]

    stats = ingest(config.db_path(), config.redis_url())
    assert stats.redis_error is None and stats.spool_files == 0
    conn = open_db(config.db_path())
    try:
        stored = [e.envelope for e in iter_events(conn, platform="claude_code")]
    finally:
        conn.close()
    assert all(e["source"] == "hook" and e["session_id"] == session_id for e in stored)
    assert Counter(_key(e["payload"]) for e in stored) == Counter(_key(p) for p in fired)
    assert len({e["event_id"] for e in stored}) == len(fired)

    by_key = {_key(e["payload"]): e["payload"] for e in stored}
    failure = by_key[("PostToolUseFailure", "ls does-not-exist-e2e")]
    # standard privacy keeps a failed tool's output as a size and its first line (redacted)
    # to classify it, never the output itself (issue 9 item 2)
    assert failure["error"]["redacted"] is True and failure["is_interrupt"] is False
    assert failure["error_head"] and "does-not-exist-e2e" not in json.dumps(failure["error"])
    assert ("PermissionRequest", "touch refused-e2e.txt") in by_key
    assert ("PostToolUse", "touch refused-e2e.txt") not in by_key
    assert not (project / "refused-e2e.txt").exists()
    ok = by_key[("PostToolUse", "echo hello-from-e2e")]
    assert ok["tool_use_id"] == "toolu_e2e_ok"
    assert ok["tool_response"]["stdout"] == {"redacted": True, "chars": 14, "lines": 1}

    _blueplane("uninstall", "claude-code", "--project", str(project))
    assert json.loads((project / ".claude" / "settings.json").read_text()) == other


def test_the_default_user_level_install_captures_a_session(claude_cli, redis_home, tmp_path):
    """``blueplane install claude-code`` with no --project writes ~/.claude/settings.json;
    the real CLI (HOME pointed at a temp folder) picks it up."""
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    exe = Path(sys.executable).with_name("blueplane")
    subprocess.run([str(exe), "install", "claude-code"], check=True, capture_output=True,
                   env={**os.environ, "HOME": str(home)})
    assert (home / ".claude" / "settings.json").exists()

    run = run_session(claude_cli, project, home, redis_home)
    assert run.returncode == 0, run.stderr
    ingest(config.db_path(), config.redis_url())
    conn = open_db(config.db_path())
    try:
        stored = Counter(e.envelope["event_type"] for e in iter_events(conn))
    finally:
        conn.close()
    assert stored == Counter({"SessionStart": 1, "UserPromptSubmit": 1, "PreToolUse": 3,
                              "PostToolUse": 1, "PostToolUseFailure": 1,
                              "PermissionRequest": 1, "Stop": 1, "SessionEnd": 1})
