"""`blueplane statusline` on the JSON the real Claude Code 2.1.328 sends (recorded in
tests/fixtures/statusline), its capture as an event, and `install --statusline`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.budgets import evaluate, spend, store
from blueplane_pipeline.capture import statusline
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events

RECORDED = Path(__file__).parents[1] / "fixtures" / "statusline" / "claude-code-2.1.328"
AT_MOUNT = (RECORDED / "session" / "001.json").read_bytes()  # no prompt yet: nulls
AFTER = (RECORDED / "session" / "004.json").read_bytes()  # after the session's 3 answers
LAUNCHER = Path(statusline.__file__).with_name("run_statusline.py")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(stdin: bytes, **env: str) -> subprocess.CompletedProcess:
    """The launcher the installer registers, as Claude Code runs it (stdin/stdout pipes)."""
    return subprocess.run([sys.executable, "-S", str(LAUNCHER)], input=stdin,
                          capture_output=True, timeout=30,
                          env={**os.environ, "BLUEPLANE_HOOK_TIMEOUT": "0.05", **env})


def test_prints_one_line_for_both_recorded_states(bp_home):
    mount, after = run(AT_MOUNT, NO_COLOR="1"), run(AFTER, NO_COLOR="1")
    assert mount.returncode == after.returncode == 0 and not mount.stderr + after.stderr
    assert mount.stdout.decode() == "Opus 5.5 │ $0.00 session\n"
    assert after.stdout.decode() == "Opus 5.5 │ $0.03 session │ ctx 0%\n"


def test_spend_block_budgets_and_colour(bp_home):
    now = int(time.time() * 1000)
    today = evaluate.local_days(now, "daily")[0]
    doc = json.loads(AFTER)
    sid = doc["session_id"]
    spend.write({"generated_at_ms": now, "days": {today: {"*": 8.0, "project": 8.0}},
                 "sessions": {sid: 0.02},
                 "block": {"start_ms": now - 3600_000, "first_ms": now - 3600_000,
                           "last_ms": now - 60_000, "end_ms": now + 3 * 3600_000 + 30 * 60_000,
                           "cost": 2.0, "by_project": {"project": 2.0}}})
    store.save(config.budgets_path_str(),
               store.upsert({"budgets": []}, "daily", 10.0, None, enforce=True))
    out = run(AFTER).stdout.decode()
    plain = ANSI.sub("", out)
    # today = stored $8.00 + the session's $0.028452 beyond the $0.02 already stored
    assert "$8.01 today" in plain
    assert "block $2.01 · 3h29m left · →$9.04" in plain  # $2.01 in 1 h; 3.5 h to go
    assert "daily 80%" in plain and "⛔" not in plain
    assert "\x1b[33m80%" in out  # the warning colour
    assert "\x1b" not in run(AFTER, NO_COLOR="1").stdout.decode()
    assert plain.count("\n") == 1


@pytest.mark.parametrize("stdin", [b"", b"not json", b"[1, 2]", b'{"model": 5, "cost": "x"}',
                                   b'{"context_window": {"used_percentage": NaN}}'])
def test_bad_input_still_prints_a_line_and_exits_0(bp_home, stdin):
    out = run(stdin)
    assert out.returncode == 0 and out.stderr == b""
    assert len(out.stdout.decode().splitlines()) == 1


def test_the_json_is_captured_once_per_change_without_a_session(redis_home):
    for raw in (AT_MOUNT, AFTER, AFTER):  # the repeat differs only in total_duration_ms
        doc = json.loads(raw)
        doc["cost"]["total_duration_ms"] += 1
        assert run(json.dumps(doc).encode()).returncode == 0
    assert statusline.steady_mark(b'{"cost": {"total_duration_ms": 1041, "x": 1}}') == \
        statusline.steady_mark(b'{"cost": {"total_duration_ms": 7061, "x": 1}}') != \
        statusline.steady_mark(b'{"cost": {"total_duration_ms": 7061, "x": 2}}')
    # Capture runs in a child after the line is out: wait for it to reach the stream.
    from blueplane_pipeline.ingest import stream

    r = stream.client()
    deadline = time.monotonic() + 20
    while r.xlen(config.STREAM_KEY) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # (a third event, if one were wrongly sent, would have arrived too)
    r.close()
    ingest(config.db_path(), config.redis_url())
    conn = open_db(config.db_path())
    try:
        stored = [e.envelope for e in iter_events(conn)]
    finally:
        conn.close()
    assert [(e["source"], e["event_type"], e["session_id"]) for e in stored] == [
        ("statusline", "statusline", None)] * 2
    payload = stored[1]["payload"]
    assert payload["cost"]["total_cost_usd"] == 0.028452
    assert payload["session_id"] == json.loads(AFTER)["session_id"]
    assert payload["context_window"]["current_usage"]["cache_read_input_tokens"] == 900


def test_install_never_replaces_a_users_status_line_without_force(bp_home, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    settings = tmp_path / "claude" / "settings.json"
    settings.parent.mkdir()
    theirs = {"statusLine": {"type": "command", "command": "~/bin/my-line.sh"}, "model": "x"}
    settings.write_text(json.dumps(theirs))
    runner = CliRunner()
    refused = runner.invoke(cli, ["install", "claude-code", "--statusline"])
    assert refused.exit_code == 1 and "--force" in refused.output
    assert json.loads(settings.read_text()) == theirs
    forced = runner.invoke(cli, ["install", "claude-code", "--statusline", "--force"])
    assert forced.exit_code == 0, forced.output
    line = json.loads(settings.read_text())["statusLine"]
    assert line["command"].endswith("capture/run_statusline.py") and " -S " in line["command"]
    again = runner.invoke(cli, ["install", "claude-code", "--statusline"])  # ours: idempotent
    assert again.exit_code == 0 and "Nothing to do" in again.output
    assert runner.invoke(cli, ["uninstall", "claude-code"]).exit_code == 0
    assert json.loads(settings.read_text()) == theirs  # theirs is back, hooks gone
    assert not (bp_home / "statusline-replaced.json").exists()


def test_uninstall_statusline_only_keeps_the_hooks(bp_home, tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    runner = CliRunner()
    assert runner.invoke(cli, ["install", "claude-code", "--statusline"]).exit_code == 0
    path = tmp_path / "claude" / "settings.json"
    assert "statusLine" in json.loads(path.read_text())
    out = runner.invoke(cli, ["uninstall", "claude-code", "--statusline"])
    assert out.exit_code == 0 and "Removed our status line." in out.output
    doc = json.loads(path.read_text())
    assert "statusLine" not in doc and doc["hooks"]


def test_the_parser_without_json_reads_what_json_reads():
    for path in sorted(RECORDED.glob("*/*.json")):
        assert statusline.loads(path.read_bytes()) == json.loads(path.read_bytes())
    value = statusline.loads(b' {"a": NaN, "b": [1, -2.5e3, "\\u00e9"], "c": null} \n')
    assert value["a"] != value["a"] and value["b"] == [1, -2500.0, "é"] and value["c"] is None
    for bad in (b"", b"{", b'{"a": 1} x', b"[1,", b'"open'):
        with pytest.raises(ValueError):
            statusline.loads(bad)


def test_rate_limits_fast_mode_and_a_capped_budget_render():
    """Fields the recorded API-key session lacks (subscription logins send rate_limits)."""
    now = int(time.time() * 1000)
    today = evaluate.local_days(now, "daily")[0]
    doc = {**json.loads(AFTER), "fast_mode": True,
           "rate_limits": {"five_hour": {"used_percentage": 92.4},
                           "seven_day": {"used_percentage": 35}}}
    doc["context_window"]["used_percentage"] = 75
    budgets = store.upsert({"budgets": []}, "block", 1.0, "project", enforce=True)
    spend_doc = {"days": {today: {"*": 3.0}}, "sessions": {},
                 "block": {"start_ms": now - 60_000, "end_ms": now + 3600_000, "cost": 1.5,
                           "by_project": {"project": 1.5}}}
    line = statusline.render(doc, spend_doc, budgets, now, {"NO_COLOR": "1"})
    assert line.endswith("ctx 75% │ 5h 92% │ 7d 35% │ fast │ block project 153% ⛔")
    coloured = statusline.render(doc, spend_doc, budgets, now, {})
    assert "\x1b[33m75%" in coloured and "\x1b[31m\x1b[1m92%" in coloured
