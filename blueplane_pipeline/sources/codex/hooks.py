"""Which Codex hook events Blueplane registers, and where Codex reads them.

Codex 0.171.0 reads ``$CODEX_HOME/hooks.json`` in Claude Code's grouped shape and runs a
command hook for each of its 12 events; we register all of them. No matcher (Codex runs
a group without one for every tool), a 10 s timeout (3 s for ``SessionEnd`` and
``Interrupt``, which Codex clamps to 3 s with a warning otherwise). The hook prints
nothing, so it cannot change what Codex does. Hooks that Codex does not manage itself run
only once the user trusts them (Codex asks), or with ``--dangerously-bypass-hook-trust``.
"""

from __future__ import annotations

import os
from pathlib import Path

from blueplane_pipeline.capture.installers import HookLayout

EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PreCompact",
    "PostCompact",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "Interrupt",
    "SessionEnd",
)
HOOK_TIMEOUT_S = 10
SHORT_TIMEOUTS = {"SessionEnd": 3, "Interrupt": 3}


def codex_home() -> Path:
    env = os.environ.get("CODEX_HOME", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".codex"


def hooks_path(project: Path | None) -> Path:
    """``$CODEX_HOME/hooks.json``; with a project, ``DIR/.codex/hooks.json``."""
    if project is not None:
        return Path(project).resolve() / ".codex" / "hooks.json"
    return codex_home() / "hooks.json"


INSTALLER = HookLayout(
    shape="grouped",
    events=EVENTS,
    timeout_s=HOOK_TIMEOUT_S,
    settings_path=hooks_path,
    event_timeouts=SHORT_TIMEOUTS,
    restart_note="Codex reads hooks.json when a session starts: start a new session, and "
    "trust the new hooks when Codex asks (they print nothing and change "
    "nothing Codex does).",
)
