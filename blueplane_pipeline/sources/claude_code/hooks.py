"""Which Claude Code hook events Blueplane registers, and where its settings live."""

from __future__ import annotations

import os
from pathlib import Path

from blueplane_pipeline.capture.installers import HookLayout

# Claude Code 2.1.332 accepts 34 hook events. We capture the ones that describe the session,
# the prompts and the tools. Left out on purpose: WorktreeCreate/WorktreeRemove (a command
# hook *replaces* git's worktree creation), Elicitation/ElicitationResult (a hook may answer
# an MCP elicitation), FileChanged (needs a filename matcher), PostToolBatch (repeats the
# per-tool events), and UI/config notifications that no metric uses (Setup, ConfigChange,
# InstructionsLoaded, CwdChanged, DirectoryAdded, MessageDisplay, PreSkillShellCommand,
# UserPromptExpansion, Pre/PostModelSwitch, TeammateIdle, TaskCreated, TaskCompleted):
# every registered event costs one hook process on the assistant's path.
EVENTS = (
    "SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PermissionDenied",
    "PostToolUse", "PostToolUseFailure", "Notification", "SubagentStart", "SubagentStop",
    "PreCompact", "PostCompact", "Stop", "StopFailure", "SessionEnd",
)
# Events whose matcher selects tools: ``*`` = every tool. The others take no matcher.
TOOL_EVENTS = frozenset(
    {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied"})
# Seconds Claude Code waits before killing the hook; ours gives up far earlier on its own.
HOOK_TIMEOUT_S = 10


def config_dir() -> Path:
    """``$CLAUDE_CONFIG_DIR`` (its first entry) or ``~/.claude``."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").split(",")[0].strip()
    return Path(env).expanduser() if env else Path.home() / ".claude"


def settings_path(project: Path | None) -> Path:
    """``DIR/.claude/settings.json`` for a project, else the user settings file."""
    if project is not None:
        return Path(project).resolve() / ".claude" / "settings.json"
    return config_dir() / "settings.json"


INSTALLER = HookLayout(
    shape="grouped", events=EVENTS, tool_events=TOOL_EVENTS, timeout_s=HOOK_TIMEOUT_S,
    settings_path=settings_path, supports_async=True,
    restart_note="Claude Code reads hooks when a session starts: restart it, or review them "
                 "with /hooks in a running session.")
