"""The real Claude Code CLI 2.1.328, installed with `blueplane install claude-code --otel`
(and `--transport http`), against the Messages API stand-in and a real blueplane-collector:
every hook event arrives once, `api_requests` equal the usage the stand-in returned call by
call, the refused Edit is a `reject` with its source, and the Write's lines are counted."""

from __future__ import annotations

import json
import os
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
