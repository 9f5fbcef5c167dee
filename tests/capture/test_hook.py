"""blueplane-hook, run as the real process: hook -> stream (or spool) -> ingest -> rows.

Every test runs the hook as a subprocess, the way Claude Code and Cursor run it: either the
command the installers register (``<python> -S <run_hook.py> <assistant>`` via ``sh -c``)
or the ``blueplane-hook`` console script.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from blueplane_pipeline.capture import hook
from blueplane_pipeline.capture.installers import hook_command
from blueplane_pipeline.core import config, platforms
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events
from tests.conftest import load_hook_payloads

CONSOLE_SCRIPT = str(Path(sys.executable).with_name("blueplane-hook"))
LAUNCHER = str(Path(hook.__file__).with_name("run_hook.py"))


def run_hook(data: bytes, assistant: str = "claude-code", *, console_script: bool = False,
             env: dict | None = None, python_args: tuple[str, ...] = ()):
    if console_script:
        cmd = [CONSOLE_SCRIPT, assistant]
    elif python_args:
        cmd = [sys.executable, *python_args, "-S", LAUNCHER, assistant]
    else:
        cmd = ["/bin/sh", "-c", hook_command(assistant)]
    # The subprocess timeout only guards the test run; the hook's own deadlines are far shorter.
    return subprocess.run(cmd, input=data, capture_output=True, timeout=30,
                          env={**os.environ, **(env or {})})


def stored_events(**filters) -> list[dict]:
    conn = open_db(config.db_path())
    try:
        return [e.envelope for e in iter_events(conn, **filters)]
    finally:
        conn.close()


def cursor_payload(event: str, **fields) -> bytes:
    base = {"conversation_id": "conv-1", "generation_id": "gen-1", "hook_event_name": event,
            "workspace_roots": ["/home/dev/shop"], "model": "gpt-5", "cursor_version": "1.7.2"}
    return json.dumps({**base, **fields}).encode()


# --- real payloads, end to end -----------------------------------------------------------

def test_every_real_payload_reaches_raw_events_once(redis_home):
    payloads = load_hook_payloads()
    for payload in payloads:
        proc = run_hook(json.dumps(payload).encode())
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    stats = ingest(config.db_path(), config.redis_url())
    assert stats.events_stored == len(payloads) and stats.spool_files == 0
    stored = stored_events(platform="claude_code")
    # One real payload carries only tool_name/tool_input: kept, as type "unknown".
    expected = [p.get("hook_event_name", "unknown") for p in payloads]
    assert [e["event_type"] for e in stored] == expected
    assert [e["session_id"] for e in stored] == [p.get("session_id") for p in payloads]
    assert all(e["source"] == "hook" for e in stored)
    # Standard privacy: tool output is summarised, never stored as text.
    for env, payload in zip(stored, payloads, strict=True):
        if isinstance(payload.get("tool_response"), str):
            assert env["payload"]["tool_response"]["redacted"] is True


def test_the_console_script_captures_too(redis_home):
    payload = load_hook_payloads()[0]
    proc = run_hook(json.dumps(payload).encode(), console_script=True)
    assert (proc.returncode, proc.stdout) == (0, b"")
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events()
    assert env["event_type"] == payload["hook_event_name"]


def test_the_hook_imports_only_the_standard_library_and_itself(redis_home):
    proc = run_hook(json.dumps(load_hook_payloads()[0]).encode(),
                    python_args=("-X", "importtime"))
    assert proc.returncode == 0
    modules = {line.split("|")[-1].strip() for line in proc.stderr.decode().splitlines()
               if line.startswith("import time:") and "imported package" not in line}
    top_level = {name.split(".")[0] for name in modules}
    assert "blueplane_pipeline" in top_level
    assert top_level - set(sys.stdlib_module_names) - {"blueplane_pipeline"} == set()
    # The heavy parts of the project stay off the hook path.
    assert not {m for m in modules if m.startswith(("blueplane_pipeline.storage",
                                                    "blueplane_pipeline.ingest.stream"))}


def test_every_module_of_ours_the_hook_imports_gets_bytecode_at_install(redis_home):
    """``compile_hook_modules`` (run by ``install``) writes bytecode for what the hook
    imports; a module missing from its list is compiled from source on every event when
    bytecode cannot be cached. The payload holds secrets, so the redaction rules load too."""
    from blueplane_pipeline.capture.installers import HOOK_MODULES

    payload = {"session_id": "s-bc", "hook_event_name": "UserPromptSubmit", "cwd": "/w",
               "prompt": "use AKIAIOSFODNN7EXAMPLE and PGPASSWORD=hunter22"}
    proc = run_hook(json.dumps(payload).encode(), python_args=("-X", "importtime"),
                    env={"BLUEPLANE_PRIVACY_MODE": "standard"})
    ours = {line.split("|")[-1].strip() for line in proc.stderr.decode().splitlines()
            if line.startswith("import time:") and "blueplane_pipeline" in line}
    assert "blueplane_pipeline.core.redaction" in ours
    assert ours - set(HOOK_MODULES) == set()


# --- garbage on stdin: captured, flagged, never dropped ------------------------------------

TRUNCATED = (b'{"session_id": "sess-trunc", "hook_event_name": "PostToolUse", '
             b'"tool_input": {"command": "echo hi"}, "tool_response": {"stdout": "hi')
GARBAGE = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "truncated": TRUNCATED,
    "not an object": b"[1, 2, 3]",
    "5 MB of text": b"x" * (5 * 1024 * 1024),
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_stdin_is_captured_flagged(redis_home, name):
    data = GARBAGE[name]
    proc = run_hook(data)
    assert (proc.returncode, proc.stdout) == (0, b"")
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events()
    assert env["event_type"] == hook.INVALID_INPUT
    payload = env["payload"]
    assert payload["raw_bytes"] == len(data) and payload["parse_error"]
    assert len(payload["raw_text"]) <= hook.STANDARD_RAW_HEAD  # standard mode keeps a head
    if name == "truncated":
        assert env["session_id"] == "sess-trunc"
        assert payload["hook_event_name"] == "PostToolUse"


def test_json_with_a_lone_surrogate_is_stored_with_a_replacement_char(redis_home):
    data = b'{"hook_event_name": "UserPromptSubmit", "session_id": "s1", "prompt": "a\\ud800b"}'
    assert run_hook(data).returncode == 0
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events()
    assert env["event_type"] == "UserPromptSubmit" and env["payload"]["prompt"] == "a\ufffdb"


# --- Redis down or hung: spool, exit 0, delivered by the next ingest ----------------------

def test_redis_down_spools_and_the_next_ingest_stores_it(bp_home):
    payload = load_hook_payloads()[0]
    proc = run_hook(json.dumps(payload).encode())
    assert (proc.returncode, proc.stdout) == (0, b"")
    assert len(list(config.spool_dir().glob("*.jsonl"))) == 1
    stats = ingest(config.db_path(), config.redis_url())
    assert stats.redis_error and stats.spool_events == 1
    (env,) = stored_events()
    assert env["event_type"] == payload["hook_event_name"]
    assert list(config.spool_dir().glob("*.jsonl")) == []


def test_a_redis_that_never_answers_hits_the_deadline_and_spools(bp_home):
    """A socket that accepts and then says nothing (a stopped server): the hard deadline
    ends the attempt and the event goes to the spool."""
    path = config.redis_socket()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        proc = run_hook(json.dumps(load_hook_payloads()[1]).encode())
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()
        path.unlink()
    assert (proc.returncode, proc.stdout) == (0, b"")
    assert held, "the hook never tried to reach Redis"
    (spooled,) = config.spool_dir().glob("*.jsonl")
    expected = load_hook_payloads()[1]["hook_event_name"]
    assert json.loads(spooled.read_bytes())["event_type"] == expected


# --- Cursor answers --------------------------------------------------------------------

@pytest.mark.parametrize(("event", "answer"), [
    ("beforeShellExecution", {"permission": "allow"}),
    ("beforeMCPExecution", {"permission": "allow"}),
    ("beforeReadFile", {"permission": "allow"}),
    ("beforeSubmitPrompt", {"continue": True}),
    ("afterFileEdit", None),
    ("stop", None),
])
def test_cursor_gets_its_answer_and_the_event_is_stored(redis_home, event, answer):
    proc = run_hook(cursor_payload(event, command="ls"), "cursor")
    assert proc.returncode == 0
    assert (json.loads(proc.stdout) if proc.stdout else None) == answer
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events(platform="cursor")
    assert (env["event_type"], env["session_id"]) == (event, "conv-1")


def test_cursor_paths_are_kept_relative_to_the_workspace_root(redis_home):
    data = cursor_payload("afterFileEdit", file_path="/home/dev/shop/src/cart.ts",
                          edits=[{"old_string": "let total = 0", "new_string": "let total = 1"}])
    assert run_hook(data, "cursor").returncode == 0
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events(platform="cursor")
    assert env["payload"]["file_path"] == "src/cart.ts"
    assert env["payload"]["edits"][0]["new_string"] == {"redacted": True, "chars": 13, "lines": 1}


def test_cursor_before_hook_is_answered_even_when_capture_crashes(tmp_path):
    broken_home = tmp_path / "not-a-dir"
    broken_home.write_text("a file where BLUEPLANE_HOME should be")
    proc = run_hook(cursor_payload("beforeShellExecution", command="ls"), "cursor",
                    env={"BLUEPLANE_HOME": str(broken_home)})
    assert (proc.returncode, json.loads(proc.stdout)) == (0, {"permission": "allow"})


def test_a_capture_failure_is_logged_for_the_user(bp_home):
    (bp_home / "spool").write_text("a file where the spool folder should be")
    proc = run_hook(json.dumps(load_hook_payloads()[0]).encode())  # Redis down: must spool
    assert (proc.returncode, proc.stdout) == (0, b"")
    (line,) = (bp_home / "logs" / hook.ERROR_LOG).read_text().splitlines()
    assert "FileExistsError" in line or "NotADirectoryError" in line


def test_cursor_truncated_input_still_gets_the_right_answer(redis_home):
    data = cursor_payload("beforeSubmitPrompt", prompt="hello")[:-15]
    proc = run_hook(data, "cursor")
    assert json.loads(proc.stdout) == {"continue": True}
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events(platform="cursor")
    assert (env["event_type"], env["session_id"]) == (hook.INVALID_INPUT, "conv-1")


def test_cursor_unreadable_input_gets_the_answer_every_before_hook_accepts(bp_home):
    proc = run_hook(b"\x00garbage", "cursor")
    assert json.loads(proc.stdout) == platforms.get("cursor").hook_fallback_answer


# --- privacy modes, applied in the hook process -------------------------------------------

PROMPT = {"session_id": "s-priv", "hook_event_name": "UserPromptSubmit", "cwd": "/home/dev/app",
          "prompt": "deploy with token=supersecretvalue123 please"}
POST = {"session_id": "s-priv", "hook_event_name": "PostToolUse", "cwd": "/home/dev/app",
        "tool_name": "Read", "tool_input": {"file_path": "/home/dev/app/src/main.py"},
        "tool_response": {"file": {"filePath": "/home/dev/app/src/main.py",
                                   "content": "print('hi')\n"}}}


def _capture_with_mode(mode: str, how: str) -> list[dict]:
    env = {}
    if how == "config.toml":
        config.save_setting("privacy_mode", mode)
    else:
        env["BLUEPLANE_PRIVACY_MODE"] = mode
    for payload in (PROMPT, POST):
        assert run_hook(json.dumps(payload).encode(), env=env).returncode == 0
    ingest(config.db_path(), config.redis_url())
    return [e["payload"] for e in stored_events(session_id="s-priv")]


def test_standard_mode_redacts_secrets_and_drops_contents(redis_home):
    prompt, post = _capture_with_mode("standard", "config.toml")
    assert prompt["prompt"] == "deploy with token=[REDACTED] please"
    assert post["tool_input"]["file_path"] == "src/main.py"
    assert post["tool_response"]["file"]["content"] == {"redacted": True, "chars": 12, "lines": 1}


def test_strict_mode_keeps_no_prompt_text(redis_home):
    prompt, post = _capture_with_mode("strict", "env")
    assert set(prompt["prompt"]) == {"redacted", "chars", "sha256"}
    assert post["tool_input"]["file_path"] == "*.py"


def test_full_mode_keeps_everything(redis_home):
    prompt, post = _capture_with_mode("full", "config.toml")
    assert prompt == PROMPT and post == POST


def test_invalid_input_keeps_text_only_as_the_mode_allows(bp_home):
    data = b'{"prompt": "my password=hunter2hunter2 is' + b"y" * 10_000
    strict = hook.invalid_payload(data, "bad", True, "strict")
    standard = hook.invalid_payload(data, "bad", True, "standard")
    full = hook.invalid_payload(data, "bad", True, "full")
    assert "raw_text" not in strict and strict["raw_bytes"] == len(data)
    assert "hunter2" not in standard["raw_text"] and standard["truncated"] is True
    assert full["raw_text"] == data.decode() and full["truncated"] is False


# --- pure helpers ------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    (b'{"hook_event_name": "Stop"}', "Stop"),
    (b'{"a": 1, "hook_event_name" :\n "beforeReadFile", "x": ', "beforeReadFile"),
    (b'{"hook_event_name": "esc\\"aped"}', 'esc"aped'),
    (b'{"hook_event_name": 5}', None),
    (b'{"hook_event_name": "unterminated', None),
    (b"no json here", None),
])
def test_sniff_string_reads_broken_json(data, expected):
    assert hook.sniff_string(data, "hook_event_name") == expected
