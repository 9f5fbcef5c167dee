"""The real Claude Code CLI 2.1.328, installed with `blueplane install claude-code --otel`
(and `--transport http`), against the Messages API stand-in and a real blueplane-collector:
every hook event arrives once, `api_requests` equal the usage the stand-in returned call by
call, the refused Edit is a `reject` with its source, and the Write's lines are counted."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from record_claude_otel import NOTES, check_scenario, run_claude

from blueplane_cli.main import cli
from blueplane_pipeline.collector.durable import DurableWriter, NotStored
from blueplane_pipeline.collector.server import serve
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.sources.otel.gaps import sequence_gaps
from blueplane_pipeline.sources.otel.store import refresh
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events

# What the scripted session fires, in order, among the events the installer registers
# (tests/fixtures/http_hooks/README.md: PostToolBatch and MessageDisplay are not ours).
HOOK_EVENTS = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PreToolUse",
    "PostToolUseFailure",
    "PreToolUse",
    "PostToolUse",
    "PreToolUse",
    "PermissionRequest",
    "Stop",
    "SessionEnd",
]


class RefusesFirstLogsExport(DurableWriter):
    """The durable store failing once (a full disk, Redis and the spool both down): the
    collector answers 503 to the first logs export."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def write(self, lines: list[bytes]) -> str:
        if not self.refused and b'"otlp"' in lines[0] and b'"logs"' in lines[0]:
            self.refused += 1
            raise NotStored("injected failure")
        return super().write(lines)


def _session(claude_cli, monkeypatch, *install_args: str, writer=None) -> tuple:
    workdir = Path(tempfile.mkdtemp(prefix="bp-cc-", dir="/tmp"))
    home = workdir / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    server = serve("127.0.0.1", 0, writer=writer)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["config", "set", "collector_port", str(port)]).exit_code == 0
        result = runner.invoke(cli, ["install", "claude-code", *install_args])
        assert result.exit_code == 0, result.output
        settings = json.loads((home / ".claude" / "settings.json").read_text())
        run = run_claude(
            claude_cli, workdir, extra_env={"BLUEPLANE_HOME": os.environ["BLUEPLANE_HOME"]}
        )
        time.sleep(0.5)
    finally:
        server.shutdown()
        server.server_close()
    ingest()
    conn = open_db(config.db_path())
    refresh(conn)
    return run, conn, settings


def _check(run, conn) -> None:
    summary = check_scenario(run)
    assert summary["returncode"] == 0, run.stderr[-2000:]
    assert summary["write_ok"] and summary["edit_refused"]
    session_id = summary["session_id"]
    hooks = [e.envelope for e in iter_events(conn, platform="claude_code")]
    assert [e["event_type"] for e in hooks] == HOOK_EVENTS
    assert {e["session_id"] for e in hooks} == {session_id}
    # Call by call, what the stand-in returned is what api_requests holds.
    got = conn.execute(
        "SELECT request_id, input_tokens, output_tokens, cache_read_tokens,"
        " cache_creation_tokens FROM api_requests WHERE session_id = ? ORDER BY sequence",
        (session_id,),
    ).fetchall()
    want = [
        (
            u["request_id"],
            u["usage"]["input_tokens"],
            u["usage"]["output_tokens"],
            u["usage"]["cache_read_input_tokens"],
            u["usage"]["cache_creation_input_tokens"],
        )
        for u in run.usage
    ]
    assert got == want and len(got) == 5
    cost = conn.execute("SELECT sum(cost_usd) FROM api_requests").fetchone()[0]
    assert cost == pytest.approx(summary["total_cost_usd"], abs=1e-9)
    refused = conn.execute(
        "SELECT decision, source FROM tool_decisions WHERE tool_use_id = 'toolu_otel_edit_refused'"
    ).fetchall()
    assert refused == [("reject", "config")]
    (added,) = conn.execute(
        "SELECT sum(lines_added) FROM otel_session_daily WHERE session_id = ?", (session_id,)
    ).fetchone()
    assert added == len(NOTES.split("\n"))  # the CLI counts 4 for "one\ntwo\nthree\n"
    assert sequence_gaps(conn) == []


@pytest.mark.slow
def test_otel_and_http_hooks(claude_cli, redis_home, monkeypatch):
    run, conn, settings = _session(claude_cli, monkeypatch, "--otel", "--transport", "http")
    assert settings["hooks"]["PreToolUse"][-1]["hooks"][0]["type"] == "http"
    _check(run, conn)
    # Hooks that came over HTTP passed the same privacy filter: the Write's content is gone.
    write = [
        e.envelope
        for e in iter_events(conn, platform="claude_code")
        if e.envelope["event_type"] == "PostToolUse"
    ][-1]
    assert "one\ntwo" not in json.dumps(write["payload"])


@pytest.mark.slow
def test_reconcile_against_the_sessions_transcript(claude_cli, redis_home, monkeypatch):
    """The session's own transcript imported next to its OTel events: `usage reconcile`
    compares them per session, and `--source otel` equals what the API returned."""
    run, conn, _ = _session(claude_cli, monkeypatch, "--otel")
    runner = CliRunner()
    imported = runner.invoke(cli, ["import", "claude-code"])
    assert imported.exit_code == 0, imported.output
    refreshed = runner.invoke(cli, ["refresh", "--json"])
    assert refreshed.exit_code == 0, refreshed.output
    session_id = check_scenario(run)["session_id"]
    rows = json.loads(runner.invoke(cli, ["usage", "reconcile", "--json"]).stdout)["sessions"]
    (row,) = [r for r in rows if r["session_id"] == session_id]
    assert row["sources"] == "transcript+otel" and row["otel_events_lost"] == 0
    api = {
        k: sum(u["usage"][k] for u in run.usage)
        for k in ("input_tokens", "output_tokens", "cache_read_input_tokens")
    }
    assert row["otel_input_tokens"] == api["input_tokens"]
    assert row["otel_output_tokens"] == api["output_tokens"]
    assert row["otel_cache_read_tokens"] == api["cache_read_input_tokens"]
    assert row["diff_input_tokens"] == row["otel_input_tokens"] - row["transcript_input_tokens"]
    otel = json.loads(runner.invoke(cli, ["usage", "session", "--source", "otel", "--json"]).stdout)
    assert otel["totals"]["inputTokens"] == api["input_tokens"]
    # The sessions table carries both accountings side by side.
    conn = open_db(config.db_path())
    s = conn.execute(
        "SELECT input_tokens, otel_input_tokens, otel_lines_added FROM sessions"
        " WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    assert s[1] == api["input_tokens"] and s[2] == len(NOTES.split("\n"))
    # Tokens agree here (this stand-in does not reproduce a transcript undercount; a real
    # one shows up as a positive difference). Cost: OTel carries the CLI's own figure; the
    # transcript side is priced from the price list, which may not know the stand-in's
    # model name, and the difference says so.
    assert (row["diff_input_tokens"], row["diff_output_tokens"]) == (0, 0)
    assert row["otel_cost_usd"] == pytest.approx(check_scenario(run)["total_cost_usd"])
    assert row["diff_cost_usd"] == round(row["otel_cost_usd"] - row["transcript_cost_usd"], 6)


@pytest.mark.slow
def test_a_503_on_the_exit_flush_is_retried_and_stored_once(claude_cli, redis_home, monkeypatch):
    """With the installer's intervals the logs leave at exit; refused once with 503, the
    CLI sends the identical body again within its shutdown budget: nothing lost, nothing
    doubled."""
    writer = RefusesFirstLogsExport()
    run, conn, _ = _session(claude_cli, monkeypatch, "--otel", writer=writer)
    assert writer.refused == 1
    _check(run, conn)
    (n,) = conn.execute("SELECT count(*) FROM api_requests").fetchone()
    assert n == len(run.usage)


@pytest.mark.slow
def test_otel_protobuf_with_command_hooks(claude_cli, redis_home, monkeypatch):
    run, conn, settings = _session(
        claude_cli, monkeypatch, "--otel", "--otel-protocol", "http/protobuf"
    )
    assert settings["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    _check(run, conn)
    encodings = {e.envelope["payload"]["encoding"] for e in iter_events(conn, platform="otel")}
    assert encodings == {"protobuf"}


def _pre_answered(home: Path, project: Path, version: str) -> None:
    """Onboarding, the project's trust dialog and the dummy API key, answered in advance."""
    (home / ".claude.json").write_text(
        json.dumps(
            {
                "hasCompletedOnboarding": True,
                "lastOnboardingVersion": version,
                "theme": "dark",
                "numStartups": 1,
                "customApiKeyResponses": {
                    "approved": ["sk-ant-e2e-dummy-key"[-20:]],
                    "rejected": [],
                },
                "projects": {
                    str(project): {
                        "hasTrustDialogAccepted": True,
                        "hasCompletedProjectOnboarding": True,
                        "allowedTools": [],
                    }
                },
            }
        )
    )


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_person_accepts_the_write_and_rejects_the_edit(
    claude_cli, redis_home, tmp_path, monkeypatch
):
    """The interactive CLI (a private tmux server) in the default permission mode: the user
    answers "1. Yes" to the Write and Esc to the Edit. OTel says who decided: both count
    as user decisions, and the user-decided acceptance is 1 of 2."""
    from messages_standin import Script, StandIn, text, tool_use

    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    version = subprocess.run(
        [str(claude_cli), "--version"], capture_output=True, text=True
    ).stdout.split()[0]
    _pre_answered(home, project, version)
    server = serve("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runner = CliRunner()
    runner.invoke(cli, ["config", "set", "collector_port", str(server.server_address[1])])
    assert (
        runner.invoke(cli, ["install", "claude-code", "--otel", "--transport", "http"]).exit_code
        == 0
    )
    notes = str(project / "notes.txt")
    script = Script(
        [
            [tool_use("toolu_user_write", "Write", {"file_path": notes, "content": NOTES})],
            [
                tool_use(
                    "toolu_user_edit",
                    "Edit",
                    {"file_path": notes, "old_string": "two", "new_string": "TWO"},
                )
            ],
            [text("All done here.")],
        ]
    )
    socket_name = f"bp-collector-{os.getpid()}"

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket_name, *args], capture_output=True, text=True
        ).stdout

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "cc")

    with StandIn(script) as api:
        env = {
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": api.url,
            "ANTHROPIC_API_KEY": "sk-ant-e2e-dummy-key",
            "TERM": "xterm-256color",
            "BLUEPLANE_HOME": str(redis_home),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
        }
        env_args = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        cmd = (
            f"cd {shlex.quote(str(project))} && env -i "
            f"PATH={shlex.quote(os.environ['PATH'])} {env_args} "
            f"{shlex.quote(str(claude_cli))} --permission-mode default"
        )
        try:
            tmux("new-session", "-d", "-s", "cc", "-x", "150", "-y", "45", cmd)
            assert _wait(lambda: "for shortcuts" in screen() or "❯" in screen(), 60), screen()
            tmux("send-keys", "-t", "cc", "-l", "Write the notes, then edit them.")
            time.sleep(0.3)
            tmux("send-keys", "-t", "cc", "Enter")
            assert _wait(lambda: "Do you want" in screen(), 60), screen()

            def answer(key: str, done) -> None:
                """Press ``key`` once the dialog takes input (a key sent while it is still
                drawing is dropped), again if nothing happened."""
                for _ in range(3):
                    time.sleep(0.8)
                    tmux("send-keys", "-t", "cc", key)
                    if _wait(done, 10):
                        return
                raise AssertionError(screen())

            answer("1", lambda: "Wrote 3 lines" in screen())  # "1. Yes" to the Write
            assert _wait(lambda: "Do you want" in screen() and "TWO" in screen(), 60), screen()
            answer("Escape", lambda: "Rejected" in screen())  # no to the Edit
            tmux("send-keys", "-t", "cc", "-l", "/exit")
            time.sleep(0.3)
            tmux("send-keys", "-t", "cc", "Enter")
            _wait(lambda: "cc" not in tmux("ls"), 15)
        finally:
            tmux("kill-server")
    time.sleep(1.0)  # the exit flush
    server.shutdown()
    server.server_close()
    assert (project / "notes.txt").read_text() == NOTES
    ingest()
    refreshed = runner.invoke(cli, ["refresh", "--json"])
    assert refreshed.exit_code == 0, refreshed.output
    conn = open_db(config.db_path())
    decisions = conn.execute(
        "SELECT tool_use_id, decision, source, user_decided FROM tool_decisions ORDER BY ts_ms"
    ).fetchall()
    assert decisions == [
        ("toolu_user_write", "accept", "user_temporary", 1),
        ("toolu_user_edit", "reject", "user_reject", 1),
    ]
    row = conn.execute(
        "SELECT user_decisions, user_accepts, user_acceptance_rate, otel_lines_added FROM sessions"
    ).fetchone()
    assert row == (2, 1, 0.5, len(NOTES.split("\n")))
    calls = dict(conn.execute("SELECT tool_use_id, decision_source FROM tool_calls"))
    assert calls == {"toolu_user_write": "user_temporary", "toolu_user_edit": "user_reject"}
    edits = conn.execute(
        "SELECT tool_name, decision, source FROM otel_edit_decisions_daily ORDER BY tool_name"
    ).fetchall()
    assert edits == [("Edit", "reject", "user_reject"), ("Write", "accept", "user_temporary")]
    metrics = json.loads(runner.invoke(cli, ["metrics", "--period", "all", "--json"]).stdout)[
        "otel"
    ]
    assert (metrics["user_decisions"], metrics["user_acceptance_rate"]) == (2, 0.5)
