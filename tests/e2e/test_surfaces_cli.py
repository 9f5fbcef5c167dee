"""The real Claude Code CLI (2.1.328) with Blueplane's surfaces installed (issue 14).

- The status line: ``claude -p`` never runs it (tests/fixtures/statusline/README.md), so
  the interactive CLI runs in a private tmux server, as tests/e2e/record_statusline.py
  recorded it, with ``blueplane install claude-code --statusline`` in its temp HOME. Our
  command must receive the JSON (captured as a ``statusline`` event) and its line must
  reach the screen.
- The hard cap: a first ``-p`` session spends a little (transcript imported, `blueplane
  refresh` writes run/spend.json), a daily budget below that with ``--enforce`` makes the
  next session's tool call refused by our PreToolUse hook, and `budget pause 1h` lifts it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import run_session
from messages_standin import MODEL, Script, StandIn, text, tool_use

from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events

pytestmark = pytest.mark.slow
BLUEPLANE = Path(sys.executable).with_name("blueplane")
FINAL = "Done: the status line test is over."


def blueplane(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BLUEPLANE), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


class Tmux:
    """A private tmux server (its own socket name): no other session is touched."""

    def __init__(self) -> None:
        self.socket = f"bp-surfaces-{os.getpid()}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "cc")


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def _pre_answered(home: Path, project: Path, version: str) -> None:
    """Onboarding, the project's trust dialog and the dummy API key, answered in advance
    (without trust the CLI skips the status line)."""
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "lastOnboardingVersion": version, "theme": "dark",
        "numStartups": 1,
        "customApiKeyResponses": {"approved": ["sk-ant-e2e-dummy-key"[-20:]], "rejected": []},
        "projects": {str(project): {"hasTrustDialogAccepted": True,
                                    "hasCompletedProjectOnboarding": True,
                                    "allowedTools": []}}}))


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_interactive_cli_runs_our_status_line(claude_cli, redis_home, tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    home.mkdir()
    version = subprocess.run([str(claude_cli), "--version"], capture_output=True,
                             text=True).stdout.split()[0]
    _pre_answered(home, project, version)
    installed = blueplane("install", "claude-code", "--statusline", env={"HOME": str(home)})
    assert "status line" in installed.stdout
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert settings["statusLine"]["command"].endswith("run_statusline.py")
    blueplane("budget", "set", "daily", "50")
    tmux = Tmux()
    with StandIn(Script([[text(FINAL)]])) as api:
        env = {"HOME": str(home), "ANTHROPIC_BASE_URL": api.url,
               "ANTHROPIC_API_KEY": "sk-ant-e2e-dummy-key", "TERM": "xterm-256color",
               "BLUEPLANE_HOME": str(redis_home), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1",
               "DISABLE_ERROR_REPORTING": "1"}
        env_args = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        cmd = (f"cd {shlex.quote(str(project))} && env -i PATH={shlex.quote(os.environ['PATH'])}"
               f" {env_args} {shlex.quote(str(claude_cli))}")
        try:
            tmux("new-session", "-d", "-s", "cc", "-x", "150", "-y", "40", cmd)
            assert wait_for(lambda: "session" in tmux.screen() and "daily 0%" in tmux.screen(),
                            60), tmux.screen()
            tmux("send-keys", "-t", "cc", "-l", "Say that the test is over.")
            time.sleep(0.3)
            tmux("send-keys", "-t", "cc", "Enter")
            assert wait_for(lambda: FINAL[:20] in tmux.screen(), 60), tmux.screen()
            time.sleep(2.0)  # the update after the answer
            screen = tmux.screen()
            tmux("send-keys", "-t", "cc", "-l", "/exit")
            time.sleep(0.3)
            tmux("send-keys", "-t", "cc", "Enter")
            wait_for(lambda: "cc" not in tmux("ls"), 15)
        finally:
            tmux("kill-server")
    (tmp_path / "screen.txt").write_text(screen)
    lines = [x.strip() for x in screen.splitlines() if "daily 0%" in x]
    assert len(lines) == 1, screen
    line = lines[0]  # e.g. "Sonnet 4.5 │ $0.00 session │ daily 0%"
    assert " session │ " in line and line.endswith("daily 0%"), screen
    ingest(config.db_path(), config.redis_url())
    conn = open_db(config.db_path())
    try:
        captured = [e.envelope["payload"] for e in iter_events(conn)
                    if e.envelope["source"] == "statusline"]
    finally:
        conn.close()
    assert captured, "the status line command never received the CLI's JSON"
    assert all(p["version"] == version and p["session_id"] for p in captured)
    assert any(p["model"]["display_name"] in line for p in captured)
    blueplane("uninstall", "claude-code", env={"HOME": str(home)})
    assert "statusLine" not in json.loads((home / ".claude" / "settings.json").read_text())


def _session(claude_cli, project: Path, home: Path, blueplane_home: Path, n: int):
    marker = f"budget-e2e-{n}"
    scenario = [[tool_use(f"toolu_budget_{n}", "Bash", {"command": f"echo {marker}",
                                                        "description": "Print a marker"})],
                [text(f"Session {n} done.")]]
    # a model the shipped price list knows, so the session has a cost to budget against
    run = run_session(claude_cli, project, home, blueplane_home, scenario=scenario,
                      model=MODEL)
    assert run.returncode == 0, run.stderr
    results = [block for r in run.requests if r["body"] and r["path"].startswith("/v1/messages")
               for m in r["body"].get("messages", []) if isinstance(m.get("content"), list)
               for block in m["content"] if block.get("type") == "tool_result"
               and block.get("tool_use_id") == f"toolu_budget_{n}"]
    assert results, "the CLI never sent the tool's result"
    content = results[-1]["content"]
    return marker, content if isinstance(content, str) else json.dumps(content)


def test_enforce_denies_the_next_tool_call_and_pause_lifts_it(claude_cli, redis_home, tmp_path):
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    blueplane("install", "claude-code", "--project", str(project))
    marker, first = _session(claude_cli, project, home, redis_home, 1)
    assert marker in first  # no budget: the command ran
    blueplane("import", "claude-code", "--claude-dir", str(home / ".claude"))
    blueplane("refresh")
    spend = json.loads((redis_home / "run" / "spend.json").read_text())
    today = max(spend["days"])
    import sqlite3

    priced = sqlite3.connect(redis_home / "telemetry.db").execute(
        "SELECT model, cost_source, input_tokens, cost_usd FROM token_usage").fetchall()
    assert spend["days"][today]["*"] > 0.0001, (spend, priced)
    set_ = blueplane("budget", "set", "daily", "0.0001", "--enforce", "--json")
    assert json.loads(set_.stdout)["denies"] is True

    marker, second = _session(claude_cli, project, home, redis_home, 2)
    assert marker not in second and "Blueplane hard cap reached" in second
    assert "budget pause 1h" in second

    blueplane("budget", "pause", "1h")
    marker, third = _session(claude_cli, project, home, redis_home, 3)
    assert marker in third
