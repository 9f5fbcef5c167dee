"""Which Cursor hook events Blueplane registers, and where its hooks file lives."""

from __future__ import annotations

from pathlib import Path

from blueplane_pipeline.capture.installers import HookLayout

EVENTS = (
    "sessionStart", "beforeSubmitPrompt", "beforeShellExecution", "afterShellExecution",
    "beforeMCPExecution", "afterMCPExecution", "beforeReadFile", "afterFileEdit",
    "afterAgentResponse", "stop", "sessionEnd",
)


def settings_path(project: Path | None) -> Path:
    """``DIR/.cursor/hooks.json`` for a project, else ``~/.cursor/hooks.json``."""
    base = Path(project).resolve() if project is not None else Path.home()
    return base / ".cursor" / "hooks.json"


INSTALLER = HookLayout(
    shape="flat", events=EVENTS, settings_path=settings_path,
    restart_note="Restart Cursor (or reload its window) so it reads the hooks file again.")
