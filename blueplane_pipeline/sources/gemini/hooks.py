"""Which Gemini CLI hook events Blueplane registers, and where Gemini reads them.

Gemini CLI 0.61.0 reads ``hooks`` from its ``settings.json`` (user: ``~/.gemini``, or
``$GEMINI_CLI_HOME/.gemini``; project: ``DIR/.gemini``) in Claude Code's grouped shape,
with ``matcher`` on every group and timeouts in milliseconds; ``hooksConfig.enabled``
defaults to true. We register the events that describe the session, the prompts and the
tools: SessionStart, SessionEnd, BeforeAgent (the prompt), AfterAgent (the turn's end),
BeforeTool, AfterTool, Notification. Left out: BeforeModel, AfterModel,
BeforeToolSelection and PreCompress, which fire on every model request (PreCompress
although nothing is compressed) and would cost a hook process each; their usage is
incomplete anyway (AfterModel drops cached and thinking tokens: usage comes from the
session file). The hook prints nothing, so it changes nothing Gemini does. Gemini loads
hooks only in trusted folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from blueplane_pipeline.capture.installers import HookLayout

EVENTS = (
    "SessionStart",
    "SessionEnd",
    "BeforeAgent",
    "AfterAgent",
    "BeforeTool",
    "AfterTool",
    "Notification",
)
HOOK_TIMEOUT_MS = 10_000


def settings_path(project: Path | None) -> Path:
    if project is not None:
        return Path(project).resolve() / ".gemini" / "settings.json"
    home = os.environ.get("GEMINI_CLI_HOME", "").strip()
    return (Path(home).expanduser() if home else Path.home()) / ".gemini" / "settings.json"


INSTALLER = HookLayout(
    shape="grouped",
    events=EVENTS,
    tool_events=frozenset(EVENTS),
    timeout_s=HOOK_TIMEOUT_MS,  # Gemini reads this value in milliseconds
    settings_path=settings_path,
    restart_note="Gemini CLI reads its settings when it starts: start a new session (hooks "
    "run only in trusted folders).",
)
