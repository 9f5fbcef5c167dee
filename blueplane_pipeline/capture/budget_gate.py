"""What the hook answers once a budget exists: a hard-cap denial, or a notice shown once.

The hook calls :func:`answer` only when ``budgets.json`` exists (one ``stat``; without a
budget nothing here is imported). It reads ``budgets.json`` and ``run/spend.json`` (kept
current by the analytics refresh) and evaluates them (``budgets.evaluate``), in well under
a millisecond. Standard library only.

- **Hard cap** (a budget set with ``--enforce`` that is over, not paused): Claude Code's
  ``PreToolUse`` gets its documented JSON decision (``permissionDecision: "deny"`` with the
  reason); Cursor's ``beforeShellExecution``/``beforeMCPExecution`` get
  ``permission: "deny"``.
- **Notice** (80 % and 100 % of any budget, each once per window): Claude Code shows a
  hook's ``systemMessage`` to the user, so the next event of :data:`NOTICE_EVENTS` carries
  it. "Once" is an ``O_EXCL`` marker file per crossing under ``run/notices/``, so two
  hooks running at the same moment cannot both show it.
"""

from __future__ import annotations

import json
import os
import time

NOTICE_EVENTS = frozenset({"UserPromptSubmit", "PreToolUse", "PostToolUse", "SessionStart"})
CURSOR_GATED = frozenset({"beforeShellExecution", "beforeMCPExecution"})


def _read_json(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _project_of(data: bytes) -> str | None:
    from blueplane_pipeline.capture.hook import sniff_string

    cwd = sniff_string(data, "cwd")
    return os.path.basename(cwd.rstrip("/")) if cwd else None


def _first_time(home: str, key: str) -> bool:
    """True exactly once per ``key`` (an O_EXCL marker file)."""
    folder = os.path.join(home, "run", "notices")
    name = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in key)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.close(os.open(os.path.join(folder, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False


def answer(
    platform: str, event: str | None, data: bytes, home: str, now_ms: int | None = None
) -> dict | None:
    """The JSON to print for this event, or None (then the hook answers as without budgets)."""
    from blueplane_pipeline.budgets import evaluate, store

    doc = store.load(os.path.join(home, "budgets.json"))
    if not doc["budgets"]:
        return None
    spend = _read_json(os.path.join(home, "run", "spend.json"))
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    states = evaluate.evaluate(doc, spend, now_ms, project=_project_of(data))
    reason = evaluate.deny_reason(states)
    if platform == "claude_code":
        if reason and event == "PreToolUse":
            return {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }
            }
        if event in NOTICE_EVENTS:
            for key, message in evaluate.notices(states):
                if _first_time(home, key):
                    return {"systemMessage": message}
        return None
    if platform == "cursor" and reason and event in CURSOR_GATED:
        return {"permission": "deny", "userMessage": reason, "agentMessage": reason}
    return None
