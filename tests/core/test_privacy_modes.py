"""Every hook payload field through every privacy mode (issue 9 item 2; the field-by-field
table is docs/security.md).

Each real hook payload of Claude Code (the recorded ones and 2.1.328's), Codex and Gemini
CLI, and a payload per documented Cursor hook event, is *poisoned*: every string in it,
at any depth, gets an email address unique to that field, a card number and an AWS key
appended. Then, per mode:

- ``full`` keeps the payload as it is;
- ``standard`` keeps no key and no card number anywhere, and no email of a field that
  holds file contents or tool output (errors included);
- ``strict`` keeps no key and no card number anywhere, and an email only in the ids,
  names, enums and project directory it keeps (``STRUCTURAL_KEYS``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from blueplane_pipeline.core import config
from blueplane_pipeline.core.privacy import (
    CONTENT_KEYS,
    ERROR_KEYS,
    PATH_KEYS,
    STRUCTURAL_KEYS,
    filter_payload,
)
from blueplane_pipeline.ingest.drain import ingest
from tests.capture.test_hook import run_hook, stored_events
from tests.conftest import FIXTURES

TESTS = Path(__file__).resolve().parents[1]
CARD = "4111 1111 1111 1111"
# Keys whose value steers the filter itself; they are ids, never content.
UNPOISONED = {"hook_event_name", "tool_name"}
ID_SUFFIXES = ("_id", "Id", "_ids", "Ids", "uuid", "Uuid", "_at", "At")
# Inside tool output only these are kept (ids and status words), short ones, redacted.
OUTPUT_ID_KEYS = {"type", "tool_use_id", "id", "name", "status", "kind", "mode"}

CURSOR_BASE = {
    "conversation_id": "c0ffee00-0000-4000-8000-000000000001",
    "generation_id": "gen-1",
    "model": "gpt-5",
    "cursor_version": "1.7.2",
    "workspace_roots": ["/home/dev/shop"],
    "user_email": "dev@shop.example",
    "transcript_path": "/home/dev/.cursor/projects/shop/agent-transcripts/c.txt",
}
# One payload per Cursor hook event, fields as cursor.com/docs/agent/hooks documents them.
CURSOR_EVENTS = [
    {
        "hook_event_name": "sessionStart",
        "session_id": "s1",
        "is_background_agent": False,
        "composer_mode": "agent",
    },
    {
        "hook_event_name": "beforeSubmitPrompt",
        "prompt": "fix the cart",
        "attachments": [{"type": "file", "filePath": "/home/dev/shop/src/cart.ts"}],
    },
    {"hook_event_name": "beforeShellExecution", "command": "npm test", "cwd": "/home/dev/shop"},
    {
        "hook_event_name": "afterShellExecution",
        "command": "npm test",
        "output": "1 failed",
        "duration": 812,
    },
    {
        "hook_event_name": "beforeMCPExecution",
        "tool_name": "query",
        "server": "db",
        "tool_input": '{"sql": "select 1"}',
        "url": "http://127.0.0.1:9000/mcp",
    },
    {
        "hook_event_name": "afterMCPExecution",
        "tool_name": "query",
        "server": "db",
        "tool_input": '{"sql": "select 1"}',
        "result_json": '{"rows": [[1]]}',
        "duration": 5,
    },
    {
        "hook_event_name": "beforeReadFile",
        "file_path": "/home/dev/shop/.env",
        "content": "STRIPE=1",
        "attachments": [],
    },
    {
        "hook_event_name": "afterFileEdit",
        "file_path": "/home/dev/shop/src/cart.ts",
        "edits": [{"old_string": "a", "new_string": "b"}],
    },
    {
        "hook_event_name": "preToolUse",
        "tool_name": "Shell",
        "tool_use_id": "t1",
        "tool_input": {"command": "ls"},
        "agent_message": "Listing the folder",
    },
    {
        "hook_event_name": "postToolUse",
        "tool_name": "Shell",
        "tool_use_id": "t1",
        "tool_input": {"command": "ls"},
        "tool_output": "a\nb",
        "duration": 3,
    },
    {
        "hook_event_name": "postToolUseFailure",
        "tool_name": "Shell",
        "tool_use_id": "t2",
        "tool_input": {"command": "cat x"},
        "error_message": "cat: x: No such file",
        "failure_type": "error",
    },
    {"hook_event_name": "afterAgentResponse", "text": "Done."},
    {"hook_event_name": "afterAgentThought", "text": "thinking", "duration_ms": 40},
    {"hook_event_name": "stop", "status": "completed", "loop_count": 0},
    {
        "hook_event_name": "sessionEnd",
        "session_id": "s1",
        "reason": "completed",
        "duration_ms": 9000,
    },
]


def _claude_payloads() -> list[dict]:
    out = [
        p
        for f in sorted((FIXTURES / "hook_payloads").glob("*/*/logs/*.json"))
        for p in json.loads(f.read_text())
    ]
    recorded = TESTS / "fixtures" / "http_hooks" / "claude-code-2.1.328"
    for f in sorted(recorded.glob("**/[0-9][0-9][0-9]-*.json")):
        body = json.loads(f.read_text())
        out.append(body.get("body", body))
    return out


def _json_files(folder: Path) -> list[dict]:
    return [json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))]


PAYLOADS = {
    "claude_code": _claude_payloads(),
    "codex": _json_files(TESTS / "fixtures" / "codex" / "hook_payloads"),
    "gemini": _json_files(TESTS / "fixtures" / "gemini" / "hook_payloads"),
    "cursor": [{**CURSOR_BASE, **e} for e in CURSOR_EVENTS],
}


def poison(
    value: object,
    leaves: list[tuple[str, str, tuple[str, ...]]],
    key: str | None = None,
    above: tuple[str, ...] = (),
) -> object:
    """``value`` with every string extended by an email unique to it, a card and a key;
    ``leaves`` gains (email, key, keys above) for each."""
    if isinstance(value, dict):
        return {
            k: v if k in UNPOISONED else poison(v, leaves, k, (*above, k)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [poison(v, leaves, key, above) for v in value]
    if isinstance(value, str):
        i = len(leaves)
        email = f"leaf{i}x@example.com"
        leaves.append((email, key or "", above))
        return f"{value} {email} {CARD} AKIA{i:016d}"
    return value


def _may_keep_email(mode: str, key: str, above: tuple[str, ...]) -> bool:
    if mode == "full":
        return True
    if any(k in CONTENT_KEYS or k in ERROR_KEYS for k in above):
        return key in OUTPUT_ID_KEYS or (key in PATH_KEYS and mode == "standard")
    if key in PATH_KEYS and mode == "strict":
        return False
    if mode == "standard":
        return True
    return key in STRUCTURAL_KEYS or key.endswith(ID_SUFFIXES)


CASES = [(source, i) for source, ps in PAYLOADS.items() for i in range(len(ps))]


def test_every_source_has_payloads():
    counts = {source: len(ps) for source, ps in PAYLOADS.items()}
    assert min(counts.values()) >= 10, counts
    events = {p.get("hook_event_name") for ps in PAYLOADS.values() for p in ps}
    assert {
        "PostToolUseFailure",
        "PostToolUse",
        "UserPromptSubmit",
        "Stop",
        "AfterTool",
        "afterShellExecution",
        "afterMCPExecution",
        "postToolUseFailure",
    } <= events


@pytest.mark.parametrize("mode", ["full", "standard", "strict"])
@pytest.mark.parametrize(("source", "index"), CASES, ids=[f"{s}-{i}" for s, i in CASES])
def test_no_field_keeps_what_its_mode_forbids(mode, source, index):
    leaves: list[tuple[str, str, tuple[str, ...]]] = []
    payload = poison(PAYLOADS[source][index], leaves)
    counts: dict[str, int] = {}
    out = filter_payload(payload, mode, None, counts)
    text = json.dumps(out, ensure_ascii=False)
    if mode == "full":
        assert out == payload and counts == {}
        return
    assert "AKIA0" not in text
    assert CARD not in text and CARD.replace(" ", "") not in text
    leaked = [
        (email, key, above)
        for email, key, above in leaves
        if email in text and not _may_keep_email(mode, key, above)
    ]
    assert leaked == [], leaked
    # every key that survived redaction would have been counted: none did, and the count
    # covers at least each kept string's key
    kept_strings = sum(1 for email, _, _ in leaves if email in text)
    assert counts.get("aws-access-key-id", 0) >= kept_strings


def _failure_payload() -> dict:
    return {
        "session_id": "f00dfeed-0000-4000-8000-000000000009",
        "cwd": "/home/dev/app",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-app/f.jsonl",
        "hook_event_name": "PostToolUseFailure",
        "tool_name": "Bash",
        "tool_use_id": "toolu_fail",
        "permission_mode": "default",
        "tool_input": {"command": "./charge.sh", "description": "Charge the card"},
        "error": "Exit code 3\ncharge failed for alice@example.com card 4111111111111111"
        " key sk_live_51H8abcDEF0123456789xyz",
        "is_interrupt": False,
    }


@pytest.mark.parametrize("mode", ["standard", "strict"])
def test_a_failed_tools_error_through_the_real_hook(redis_home, mode):
    """The case the issue found: a failing command printed an email and a card number, and
    ``strict`` kept the ``error`` verbatim."""
    data = json.dumps(_failure_payload()).encode()
    assert run_hook(data, env={"BLUEPLANE_PRIVACY_MODE": mode}).returncode == 0
    ingest(config.db_path(), config.redis_url())
    (env,) = stored_events(session_id="f00dfeed-0000-4000-8000-000000000009")
    text = json.dumps(env)
    for secret in ("alice@example.com", "4111111111111111", "sk_live_51H8abc", "charge failed"):
        assert secret not in text, (mode, secret)
    error = env["payload"]["error"]
    assert error["redacted"] is True and error["lines"] == 2
    if mode == "standard":
        assert env["payload"]["error_head"] == "Exit code 3"  # still classifiable
    else:
        assert "error_head" not in env["payload"]
        assert set(env["payload"]["tool_input"]["command"]) == {"redacted", "chars", "sha256"}


def test_a_failed_tools_first_line_is_kept_without_email_or_card():
    payload = {**_failure_payload(), "error": "Error: alice@example.com 4111111111111111"}
    out = filter_payload(payload, "standard")
    assert out["error_head"] == "Error: [REDACTED] [REDACTED]"
    assert re.fullmatch(r"[\w: \[\]]+", out["error_head"])
