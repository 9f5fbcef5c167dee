"""``blueplane install claude-code --statusline``: our ``statusLine`` in Claude Code's
settings, and taking it out again.

Claude Code has one status line. A ``statusLine`` that is not ours is never replaced
without ``force``; when it is, the user's own is kept in ``statusline-replaced.json``
under the home (per settings file) and put back by uninstall, so uninstall leaves the file
as it was before install. Pure functions over the parsed settings, like ``installers``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys

KEY = "statusLine"
SAVED_FILE = "statusline-replaced.json"
_OURS = re.compile(
    r"blueplane_pipeline[/\\.]capture[/\\.](?:run_)?statusline(?:\.py)?|blueplane\s+statusline"
)


class StatusLineTaken(Exception):
    """Another status line is registered and ``force`` was not given."""


def command(python: str | None = None) -> str:
    """``<this python> -S <abs path of run_statusline.py>`` (the hook's launcher trick)."""
    from blueplane_pipeline.capture import statusline

    launcher = os.path.join(
        os.path.dirname(os.path.abspath(statusline.__file__)), "run_statusline.py"
    )
    return shlex.join([python or sys.executable, "-S", launcher])


def is_ours(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("command"), str)
        and _OURS.search(entry["command"]) is not None
    )


def add(settings: dict, cmd: str, force: bool = False) -> tuple[dict, dict | None]:
    """(settings with our status line, the user's status line it replaced or None)."""
    current = settings.get(KEY)
    wanted = {"type": "command", "command": cmd, "padding": 0}
    if current is not None and not is_ours(current):
        if not force:
            shown = current.get("command") if isinstance(current, dict) else current
            raise StatusLineTaken(
                f"a status line is already registered ({shown!r}); pass --force to replace "
                "it (uninstall puts it back)"
            )
        return {**settings, KEY: wanted}, current
    return {**settings, KEY: wanted}, None


def remove(settings: dict, saved: object = None) -> dict:
    """Settings without our status line; the one we replaced (``saved``) comes back."""
    if not is_ours(settings.get(KEY)):
        return settings
    out = {k: v for k, v in settings.items() if k != KEY}
    if saved is not None:
        out[KEY] = saved
    return out


# --- the saved status line, per settings file -------------------------------------------


def _saved_path() -> str:
    from blueplane_pipeline.core import config

    return os.path.join(config.home_str(), SAVED_FILE)


def saved_for(settings_path: str) -> object:
    try:
        with open(_saved_path()) as fh:
            return json.load(fh).get(settings_path)
    except (OSError, ValueError, AttributeError):
        return None


def remember(settings_path: str, entry: object | None) -> None:
    """Keep (or with None forget) the user's status line replaced in ``settings_path``."""
    path = _saved_path()
    try:
        with open(path) as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    if entry is None:
        doc.pop(settings_path, None)
    else:
        doc[settings_path] = entry
    if not doc:
        if os.path.exists(path):
            os.remove(path)
        return
    from blueplane_pipeline.budgets.store import write_atomic_json

    write_atomic_json(path, doc)
