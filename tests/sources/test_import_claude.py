"""Claude Code transcript import, end to end on real transcripts: files -> stream -> raw_events.

Expected counts are computed from the fixture files themselves, never typed in.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueplane_pipeline.core.envelope import deterministic_id
from blueplane_pipeline.core.privacy import filter_payload
from blueplane_pipeline.sources.claude_code.transcripts import config_dirs, find_transcripts
from blueplane_pipeline.sources.run import run_import
from blueplane_pipeline.storage.reader import iter_events
from tests.conftest import CLAUDE_HOME

FIXTURE_FILES = sorted((CLAUDE_HOME / "projects").glob("*/*.jsonl"))


def nonempty_lines(path: Path) -> dict[int, bytes]:
    """1-based line number -> bytes, for each non-blank, newline-terminated line."""
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    return {n: ln for n, ln in enumerate(complete.split(b"\n")[:-1], 1) if ln.strip()}


def transcript_events(bp_home: Path) -> list[dict]:
    conn = sqlite3.connect(bp_home / "telemetry.db")
    try:
        return [e.envelope for e in iter_events(conn, platform="claude_code")
                if e.envelope["source"] == "transcript"]
    finally:
        conn.close()


def by_file(events: list[dict]) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = defaultdict(dict)
    for env in events:
        out[env["payload"]["_file"]][env["payload"]["_line"]] = env
    return out


@pytest.fixture
def claude_copy(tmp_path) -> Path:
    """A writable copy of the real Claude config folder."""
    dest = tmp_path / "claude"
    shutil.copytree(CLAUDE_HOME, dest)
    return dest


def run(dirs: Path | list[Path], **kw):
    return run_import("claude_code", [dirs] if isinstance(dirs, Path) else dirs, **kw)


def test_fixture_has_the_real_files():
    assert len(FIXTURE_FILES) == 15


def test_every_line_becomes_exactly_one_event(redis_home):
    result = run(CLAUDE_HOME)
    events = transcript_events(redis_home)
    stored = by_file(events)
    total = 0
    for path in FIXTURE_FILES:
        rel = path.relative_to(CLAUDE_HOME / "projects").as_posix()
        lines = nonempty_lines(path)
        total += len(lines)
        assert set(stored[rel]) == set(lines), rel
        for n, raw in lines.items():
            src, env = json.loads(raw), stored[rel][n]
            assert env["event_type"] == src.get("type", "unknown")
            assert env["session_id"] == src.get("sessionId", path.stem)
            if "timestamp" in src:
                assert env["ts"] == src["timestamp"]
            if "uuid" in src:
                assert env["event_id"] == deterministic_id("claude_transcript", src["uuid"])
                assert env["payload"]["uuid"] == src["uuid"]
    assert len(events) == total == result.imported.events
    assert result.ingested.events_stored == total
    assert result.imported.to_stream == total and result.imported.to_spool == 0
    assert result.imported.invalid_lines == 0


def test_reimport_stores_nothing_and_reads_nothing(redis_home):
    first = run(CLAUDE_HOME)
    again = run(CLAUDE_HOME)
    assert again.imported.files_unchanged == len(FIXTURE_FILES)
    assert again.imported.events == 0 and again.imported.bytes_read == 0
    assert again.ingested.events_stored == 0
    # Forget the offsets: everything is read and sent again, and stored zero times.
    conn = sqlite3.connect(redis_home / "telemetry.db")
    conn.execute("DELETE FROM import_offsets")
    conn.commit()
    conn.close()
    third = run(CLAUDE_HOME)
    assert third.imported.events == first.imported.events
    assert third.ingested.events_stored == 0
    assert third.ingested.duplicates == first.imported.events
    assert len(transcript_events(redis_home)) == first.imported.events


def _session_file(root: Path) -> Path:
    return root / "projects" / "-path-to-Demo" / "1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl"


def _new_line(template: bytes, new_uuid: str) -> bytes:
    line = json.loads(template)
    line["uuid"] = new_uuid
    return json.dumps(line).encode() + b"\n"


def test_appended_lines_are_picked_up(redis_home, claude_copy):
    run(claude_copy)
    path = _session_file(claude_copy)
    before = len(path.read_bytes().split(b"\n")) - 1
    last = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    with path.open("ab") as fh:
        fh.write(_new_line(last, "11111111-2222-4333-8444-555555555555"))
        fh.write(b'{"type":"queue-operation","operation":"enqueue","sessionId":"s-x"}\n')
    result = run(claude_copy)
    assert result.imported.files_read == 1
    assert result.imported.events == 2
    assert result.ingested.events_stored == 2
    rel = path.relative_to(claude_copy / "projects").as_posix()
    lines = by_file(transcript_events(redis_home))[rel]
    assert {before + 1, before + 2} <= set(lines)
    assert lines[before + 1]["event_id"] == deterministic_id(
        "claude_transcript", "11111111-2222-4333-8444-555555555555")


def test_half_written_last_line_waits_for_the_next_run(redis_home, claude_copy):
    run(claude_copy)
    path = _session_file(claude_copy)
    n = len(nonempty_lines(path))
    last = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    full = _new_line(last, "aaaaaaaa-2222-4333-8444-555555555555")
    with path.open("ab") as fh:
        fh.write(full[:40])
    waiting = run(claude_copy)
    assert waiting.imported.events == 0 and waiting.imported.invalid_lines == 0
    assert waiting.imported.pending_tail_bytes == 40
    with path.open("ab") as fh:
        fh.write(full[40:])
    done = run(claude_copy)
    assert done.imported.events == 1 and done.imported.invalid_lines == 0
    assert done.ingested.events_stored == 1
    rel = path.relative_to(claude_copy / "projects").as_posix()
    assert by_file(transcript_events(redis_home))[rel][n + 1]["payload"]["uuid"] == \
        "aaaaaaaa-2222-4333-8444-555555555555"


def test_truncated_file_is_reread_safely(redis_home, claude_copy):
    first = run(claude_copy)
    path = _session_file(claude_copy)
    kept = b"".join(path.read_bytes().splitlines(keepends=True)[:3])
    path.write_bytes(kept)
    result = run(claude_copy)
    assert result.imported.files_reset == 1
    assert result.imported.events == 3  # read again from the start ...
    assert result.ingested.events_stored == 0  # ... and stored nothing twice
    with path.open("ab") as fh:
        fh.write(b'{"type":"summary","summary":"after truncation","leafUuid":"x"}\n')
    after = run(claude_copy)
    assert after.imported.files_reset == 0 and after.imported.events == 1
    assert len(transcript_events(redis_home)) == first.imported.events + 1


def test_replaced_file_is_reread(redis_home, claude_copy):
    run(claude_copy)
    path = _session_file(claude_copy)
    lines = path.read_bytes().splitlines(keepends=True)
    replacement = path.with_name("tmp-replacement")
    # Same size or larger, different first line and a new inode (editor-style save).
    replacement.write_bytes(_new_line(lines[0], "bbbbbbbb-2222-4333-8444-555555555555")
                            + b"".join(lines[1:]))
    os.replace(replacement, path)
    result = run(claude_copy)
    assert result.imported.files_reset == 1
    assert result.imported.events == len(lines)
    assert result.ingested.events_stored == 1  # only the line with the new uuid is new


def test_since_limits_the_backfill_and_a_full_run_gets_the_rest(redis_home):
    stamps = sorted(json.loads(raw)["timestamp"] for p in FIXTURE_FILES
                    for raw in nonempty_lines(p).values() if b'"timestamp"' in raw)
    since = stamps[len(stamps) // 2][:10]  # a day in the middle of the history
    expected = sum(1 for p in FIXTURE_FILES for raw in nonempty_lines(p).values()
                   if (json.loads(raw).get("timestamp") or "9999") >= since)
    partial = run(CLAUDE_HOME, since_ms=_day_ms(since))
    assert partial.imported.skipped_since + partial.imported.events <= sum(
        len(nonempty_lines(p)) for p in FIXTURE_FILES)
    events = transcript_events(redis_home)
    assert all(e["ts"] >= since for e in events)
    with_ts = [e for e in events if "timestamp" in e["payload"]]
    assert len(with_ts) == expected - (len(events) - len(with_ts))
    full = run(CLAUDE_HOME)
    total = sum(len(nonempty_lines(p)) for p in FIXTURE_FILES)
    assert len(transcript_events(redis_home)) == total
    assert full.ingested.events_stored == total - len(events)


def _day_ms(day: str) -> int:
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def test_invalid_lines_and_unknown_types_are_kept_and_counted(redis_home, claude_copy):
    path = _session_file(claude_copy)
    with path.open("ab") as fh:
        fh.write(b'{"type":"assistant","message": {broken\n')
        fh.write(b"[1, 2, 3]\n")
        fh.write(b'{"type":"user","text":"\xff\xfe not utf-8"}\n')
        fh.write(b"\n   \n")
        fh.write(b'{"type":"brand-new-type","uuid":"cccccccc-2222-4333-8444-555555555555",'
                 b'"futureField":{"x":1}}\n')
    result = run(claude_copy)
    assert result.imported.invalid_lines == 3
    assert result.imported.unknown_types == 1
    assert result.imported.files_read == len(FIXTURE_FILES)  # the other files too
    events = transcript_events(redis_home)
    invalid = [e for e in events if e["event_type"] == "invalid_line"]
    assert len(invalid) == 3
    assert all("parse_error" in e["payload"] and "raw_text" in e["payload"] for e in invalid)
    new = [e for e in events if e["event_type"] == "brand-new-type"]
    assert new[0]["payload"]["futureField"] == {"x": 1}
    total = sum(len(nonempty_lines(p)) for p in
                sorted((claude_copy / "projects").glob("*/*.jsonl")))
    assert len(events) == total


def test_subagent_files_are_found_and_belong_to_their_session(redis_home, claude_copy):
    session = "1af7fc5e-8455-4414-9ccd-011d40f70b2a"
    sub = claude_copy / "projects" / "-path-to-Demo" / session / "subagents"
    sub.mkdir(parents=True)
    (sub / "agent-a1b2c3.jsonl").write_bytes(
        b'{"type":"user","isSidechain":true,"uuid":"dddddddd-2222-4333-8444-555555555555",'
        b'"message":{"role":"user","content":"explore"}}\n')
    (claude_copy / "projects" / "-path-to-Demo" / "agent-old.jsonl").write_bytes(
        b'{"type":"user","isSidechain":true,"sessionId":"' + session.encode() + b'",'
        b'"uuid":"eeeeeeee-2222-4333-8444-555555555555"}\n')
    rels = {t.rel for t in find_transcripts([claude_copy])}
    assert f"-path-to-Demo/{session}/subagents/agent-a1b2c3.jsonl" in rels
    assert "-path-to-Demo/agent-old.jsonl" in rels
    run(claude_copy)
    events = {e["payload"].get("uuid"): e for e in transcript_events(redis_home)}
    assert events["dddddddd-2222-4333-8444-555555555555"]["session_id"] == session
    assert events["eeeeeeee-2222-4333-8444-555555555555"]["session_id"] == session


def test_redis_down_events_go_through_the_spool(bp_home):
    result = run(CLAUDE_HOME)
    total = sum(len(nonempty_lines(p)) for p in FIXTURE_FILES)
    assert result.imported.redis_error is not None
    assert result.imported.to_spool == total and result.imported.to_stream == 0
    assert result.ingested.events_stored == total
    assert len(transcript_events(bp_home)) == total


def test_usage_and_analytics_fields_survive_the_privacy_filter(redis_home):
    """What token usage and tool analytics read must come through ``standard`` unchanged."""
    run(CLAUDE_HOME)
    stored = {e["payload"]["uuid"]: e["payload"] for e in transcript_events(redis_home)
              if "uuid" in e["payload"]}
    checked = Counter()
    for path in FIXTURE_FILES:
        for raw in nonempty_lines(path).values():
            src = json.loads(raw)
            if "uuid" not in src:
                continue
            got = stored[src["uuid"]]
            for key in ("requestId", "costUSD", "isSidechain", "timestamp", "cwd", "gitBranch",
                        "version", "parentUuid", "sessionId", "type"):
                assert got.get(key) == src.get(key), key
            msg, got_msg = src.get("message"), got.get("message")
            if isinstance(msg, dict):
                for key in ("id", "model", "usage", "role"):
                    assert got_msg.get(key) == msg.get(key), key
                checked["usage"] += "usage" in msg
                _same_blocks(msg.get("content"), got_msg.get("content"), checked)
            result = src.get("toolUseResult")
            if isinstance(result, dict) and result.get("structuredPatch"):
                counts = [(sum(ln.startswith("+") for ln in h["lines"]),
                           sum(ln.startswith("-") for ln in h["lines"]))
                          for h in result["structuredPatch"]]
                assert [(h["added"], h["removed"]) for h in
                        got["toolUseResult"]["structuredPatch"]] == counts
                checked["patch"] += 1
    assert checked["usage"] > 500 and checked["tool_use"] > 100 and checked["patch"] > 5
    assert checked["tool_result"] > 100


def _same_blocks(src: object, got: object, checked: Counter) -> None:
    if not isinstance(src, list):
        return
    for a, b in zip(src, got, strict=True):
        if not isinstance(a, dict):
            continue
        assert b.get("type") == a.get("type")
        if a.get("type") == "tool_use":
            assert (b["id"], b["name"]) == (a["id"], a["name"])
            checked["tool_use"] += 1
        if a.get("type") == "tool_result":
            assert b["tool_use_id"] == a["tool_use_id"]
            assert b.get("is_error") == a.get("is_error")
            checked["tool_result"] += 1


def test_standard_mode_drops_file_contents_but_keeps_refusals():
    line = {
        "type": "user", "cwd": "/w",
        "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
             "content": "The user doesn't want to proceed with this tool use. The tool use "
                        "was rejected (eg. if it was a file edit, the new_string was NOT "
                        "written to the file)."},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "SECRET FILE BODY"},
            {"type": "text", "text": "[Request interrupted by user for tool use]"},
            {"type": "tool_result", "tool_use_id": "toolu_3", "is_error": True,
             "content": "touch in '/w/x.txt' needs approval. The path is inside the working "
                        "directories for this session ('/w')."}]},
        "toolUseResult": {"type": "create", "filePath": "/w/a.py", "content": "x\ny\n",
                          "structuredPatch": []},
    }
    out = filter_payload(line, "standard")
    blocks = out["message"]["content"]
    assert blocks[0]["content"].startswith("The user doesn't want to proceed")
    assert blocks[1]["content"] == {"redacted": True, "chars": 16, "lines": 1}
    assert blocks[2]["text"] == "[Request interrupted by user for tool use]"
    assert out["toolUseResult"]["filePath"] == "a.py"
    assert out["toolUseResult"]["type"] == "create"
    assert "x\ny" not in json.dumps(out)
    strict = filter_payload(line, "strict")
    assert strict["message"]["content"][2]["text"] == "[Request interrupted by user"
    assert strict["message"]["content"][0]["content"] == \
        "The user doesn't want to proceed with this tool use"
    assert blocks[3]["content"].startswith("touch in '/w/x.txt' needs approval.")
    assert strict["message"]["content"][3]["content"] == "needs approval."


def test_prompt_text_kept_in_standard_hashed_in_strict(redis_home, monkeypatch):
    monkeypatch.setenv("BLUEPLANE_PRIVACY_MODE", "strict")
    run(CLAUDE_HOME)
    prompts = {}
    for path in FIXTURE_FILES:
        for raw in nonempty_lines(path).values():
            src = json.loads(raw)
            content = (src.get("message") or {}).get("content")
            if src.get("type") == "user" and isinstance(content, str):
                prompts[src["uuid"]] = content
    assert len(prompts) > 10
    stored = {e["payload"].get("uuid"): e["payload"] for e in transcript_events(redis_home)}
    for uid, text in prompts.items():
        kept = stored[uid]["message"]["content"]
        if text.startswith("[Request interrupted by user"):
            assert kept.startswith("[Request interrupted by user")
        else:
            assert kept["chars"] == len(text) and "sha256" in kept
        line = {"type": "user", "message": {"role": "user", "content": text}}
        assert filter_payload(line, "standard")["message"]["content"] == \
            filter_payload(text, "standard")


def test_config_dirs_from_env_and_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{tmp_path / 'a'}, {tmp_path / 'b'}")
    assert config_dirs() == [tmp_path / "a", tmp_path / "b"]
    assert config_dirs(["/x"]) == [Path("/x")]
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_dirs() == [tmp_path / ".config" / "claude", tmp_path / ".claude"]


def test_cli_import_json_and_errors(redis_home, monkeypatch):
    from blueplane_cli.main import cli

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(CLAUDE_HOME))
    runner = CliRunner()
    res = runner.invoke(cli, ["import", "claude-code", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    total = sum(len(nonempty_lines(p)) for p in FIXTURE_FILES)
    assert data["import"]["events"] == total and data["ingest"]["events_stored"] == total
    res = runner.invoke(cli, ["import", "claude-code"])
    assert res.exit_code == 0 and "nothing new" in res.stdout
    res = runner.invoke(cli, ["import", "claude-code", "--claude-dir", "/no/such/dir"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.strip().splitlines()[-1].startswith("Error: no such directory")
    res = runner.invoke(cli, ["import", "claude-code", "--since", "yesterday-ish"])
    assert res.exit_code == 2 and "not a date" in res.output


def test_big_import_is_ingested_by_a_second_process_meanwhile(redis_home, monkeypatch):
    from blueplane_pipeline.sources import run as run_mod

    monkeypatch.setattr(run_mod.BackgroundIngest, "START_AFTER", 100)
    started = []
    original = run_mod.BackgroundIngest._start

    def spy(self):
        original(self)
        started.append(self.proc)

    finished = []
    original_finish = run_mod.BackgroundIngest.finish

    def spy_finish(self):
        finished.append(original_finish(self))
        return finished[-1]

    monkeypatch.setattr(run_mod.BackgroundIngest, "_start", spy)
    monkeypatch.setattr(run_mod.BackgroundIngest, "finish", spy_finish)
    result = run(CLAUDE_HOME)
    total = sum(len(nonempty_lines(p)) for p in FIXTURE_FILES)
    assert len(started) == 1 and started[0] is not None and started[0].exitcode == 0
    assert finished[0][0] > 0  # the second process stored events
    assert result.ingested.events_stored == total  # background + final, added up
    assert len(transcript_events(redis_home)) == total


def test_an_unreadable_file_is_reported_and_the_others_imported(redis_home, monkeypatch):
    """Injected failure: one transcript cannot be opened (permission denied)."""
    bad = FIXTURE_FILES[0]
    original = Path.open

    def open_or_fail(self, *args, **kwargs):
        if self == bad.resolve():
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_or_fail)
    result = run(CLAUDE_HOME)
    assert result.imported.files_failed == 1 and result.imported.files_read == 14
    assert "Permission denied" in result.imported.errors[0]
    assert result.imported.events == sum(len(nonempty_lines(p)) for p in FIXTURE_FILES[1:])
    monkeypatch.setattr(Path, "open", original)
    retry = run(CLAUDE_HOME)  # no offset was recorded for it: the next run reads it
    assert retry.imported.files_read == 1
    assert retry.imported.events == len(nonempty_lines(bad))


def test_absurdly_nested_line_is_kept_as_invalid(redis_home, claude_copy):
    """orjson parses 1,024 levels but encodes only 255: such a line must not stop anything."""
    path = _session_file(claude_copy)
    deep = b'{"type":"user","uuid":"ffffffff-2222-4333-8444-555555555555","x":' \
        + b'{"a":' * 400 + b"1" + b"}" * 400 + b"}\n"
    with path.open("ab") as fh:
        fh.write(deep)
        fh.write(b'{"type":"summary","summary":"after the deep one","leafUuid":"q"}\n')
    result = run(claude_copy)
    assert result.imported.invalid_lines == 1
    assert result.ingested.events_stored == result.imported.events
    kinds = Counter(e["event_type"] for e in transcript_events(redis_home)
                    if e["payload"]["_file"] == path.relative_to(
                        claude_copy / "projects").as_posix())
    assert kinds["invalid_line"] == 1 and kinds["summary"] == 1


def test_one_core_drains_in_process_during_a_big_import(redis_home, monkeypatch):
    """Without a second core no process is started; the stream is still drained as the
    import goes, so Redis never holds a whole history."""
    from blueplane_pipeline.sources import run as run_mod

    monkeypatch.setattr(run_mod.BackgroundIngest, "START_AFTER", 100)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    drains = []
    original = run_mod.BackgroundIngest.drain

    def spy(self):
        original(self)
        drains.append((self.proc, self.stored))

    monkeypatch.setattr(run_mod.BackgroundIngest, "drain", spy)
    result = run(CLAUDE_HOME)
    total = sum(len(nonempty_lines(p)) for p in FIXTURE_FILES)
    assert drains and all(proc is None for proc, _ in drains)
    assert drains[-1][1] > 0  # stored while importing
    assert result.ingested.events_stored == total
