"""Register ``blueplane-hook`` in an assistant's hook settings, and take it out again.

Each assistant declares where its hooks live and which events to register as a
:class:`HookLayout` (its ``INSTALLER``, found through ``core.platforms``). Two document
shapes exist: *grouped* (Claude Code, Codex: ``{"hooks": {"Event": [{"matcher": …,
"hooks": [{…}]}]}}``) and *flat* (Cursor: ``{"version": 1, "hooks": {"event":
[{"command": …}]}}``). The merge logic is pure functions over the parsed documents, so that
it can be tested directly; ``plan``/``apply`` do the file work (backup next to the file,
atomic replace). Only entries whose command is ours are ever touched: other tools' hooks
keep their place and their content, and uninstall removes exactly the groups install added.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from blueplane_pipeline.core import platforms


@dataclass(frozen=True)
class HookLayout:
    """Where an assistant keeps its hooks and which of its events we register."""

    shape: str  # "grouped" | "flat"
    events: tuple[str, ...]
    settings_path: Callable[[Path | None], Path]  # (project dir or None) -> the file
    restart_note: str
    tool_events: frozenset[str] = field(default_factory=frozenset)  # grouped: matcher "*"
    timeout_s: int | None = None  # grouped: seconds the assistant waits before killing us
    supports_async: bool = False
    event_timeouts: dict[str, int] = field(default_factory=dict)  # events that need less


# Our command, however it was registered: the console script, the launcher or the module,
# followed by the platform it captures for.
_OURS = re.compile(
    r"(?:^|[\s/\\'\"])"
    r"(?:blueplane-hook|blueplane_pipeline[/\\.]capture[/\\.](?:run_)?hook(?:\.py)?)"
    r"['\"]?\s+['\"]?([a-z][a-z0-9_-]*)(?:['\"]|\s|$)"
)


def layout(assistant: str) -> HookLayout:
    """The hook layout of an assistant (by its command-line name)."""
    platform = platforms.from_cli(assistant)
    found = platform.attr("INSTALLER") if platform is not None else None
    if not isinstance(found, HookLayout):
        raise ValueError(f"unknown assistant: {assistant}")
    return found


def installable() -> list[str]:
    """Command-line names of the assistants that have hooks to install."""
    return [p.cli_name for p in platforms.assistants()
            if isinstance(p.attr("INSTALLER"), HookLayout)]


class SettingsError(Exception):
    """The settings file cannot be read or has a shape we must not touch."""


# --- commands ---------------------------------------------------------------------------

def hook_command(assistant: str, python: str | None = None) -> str:
    """The shell command to register: ``<venv python> -S <abs path of run_hook.py> <assistant>``.

    ``-S`` skips ``site`` and the venv's ``.pth`` files (benchmarks/bench_hook.py);
    run_hook.py then finds its own package without them. The hook itself always exits 0, but if the
    venv is deleted without ``blueplane uninstall`` Python exits 2 ("can't open file"),
    which Claude Code reads as "block this tool call": the ``||`` tail keeps the status 0
    (and gives Cursor its answer) even then.
    """
    from blueplane_pipeline.capture import hook

    launcher = os.path.join(os.path.dirname(os.path.abspath(hook.__file__)), "run_hook.py")
    command = shlex.join([python or sys.executable, "-S", launcher, assistant])
    if os.name == "nt":
        return command
    platform = platforms.from_cli(assistant)
    fallback = platform.hook_fallback_answer if platform is not None else None
    if fallback:
        return f"{command} || echo {shlex.quote(json.dumps(fallback))}"
    return f"{command} || true"


def owner_of(command: object) -> str | None:
    """The assistant a Blueplane hook command captures for, or None for any other command."""
    if not isinstance(command, str):
        return None
    match = _OURS.search(command)
    if not match:
        return None
    platform = platforms.from_cli(match.group(1))
    return platform.cli_name if platform is not None else None


# Our HTTP hook handlers: the collector's hook endpoint on a loopback address.
_OUR_URL = re.compile(r"^http://(?:127\.0\.0\.1|localhost|\[::1\]):\d+/hook/([a-z][a-z0-9_-]*)$")
# Events Claude Code 2.1.328 never sends over HTTP ("HTTP hooks are not supported for
# SessionStart"): they stay command hooks with ``--transport http``.
COMMAND_ONLY_EVENTS = frozenset({"SessionStart", "Setup"})
HTTP_TIMEOUT_S = 3  # the CLI's default for HTTP hooks is 600 s per event


def owner_of_url(url: object) -> str | None:
    """The assistant a Blueplane HTTP hook URL captures for, or None for any other URL."""
    match = _OUR_URL.match(url) if isinstance(url, str) else None
    if not match:
        return None
    platform = platforms.from_cli(match.group(1))
    return platform.cli_name if platform is not None else None


def is_ours(handler: object) -> bool:
    """A hook handler Blueplane registered: our command, or an HTTP handler to our URL."""
    if not isinstance(handler, dict):
        return False
    if handler.get("type") == "http":
        return owner_of_url(handler.get("url")) is not None
    return owner_of(handler.get("command")) is not None


def http_hook_url(assistant: str, port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/hook/{assistant}"


def _hooks_of(doc: dict) -> dict:
    """The ``hooks`` mapping of either settings shape, refusing shapes we must not edit."""
    if not isinstance(doc, dict):
        raise SettingsError("the file does not hold a JSON object")
    hooks = doc.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError('"hooks" is not a JSON object')
    for event, entries in hooks.items():
        if not isinstance(entries, list):
            raise SettingsError(f'"hooks.{event}" is not a list')
    return hooks


# --- grouped: {"hooks": {"<Event>": [{"matcher": "...", "hooks": [{...}]}]}} -------------

def grouped_entry(hooks: HookLayout, event: str, command: str, run_async: bool = False,
                  http: dict | None = None) -> dict:
    """Our group for ``event``: the command hook, or with ``http`` (``{"url", "headers"}``)
    an HTTP handler to the collector, except for the events that only run commands."""
    if http is not None and event not in COMMAND_ONLY_EVENTS:
        entry: dict = {"type": "http", "url": http["url"], "timeout": HTTP_TIMEOUT_S}
        if http.get("headers"):
            entry["headers"] = dict(http["headers"])
    else:
        entry = {"type": "command", "command": command}
        timeout = hooks.event_timeouts.get(event, hooks.timeout_s)
        if timeout is not None:
            entry["timeout"] = timeout
        if run_async:
            entry["async"] = True
    group: dict = {"matcher": "*"} if event in hooks.tool_events else {}
    group["hooks"] = [entry]
    return group


def remove_grouped_hooks(settings: dict) -> dict:
    """A copy of ``settings`` without any Blueplane hook; containers we emptied go too."""
    out = copy.deepcopy(settings)
    hooks = _hooks_of(out)
    for event in list(hooks):
        kept_groups = []
        for group in hooks[event]:
            inner = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(inner, list):
                kept_groups.append(group)
                continue
            kept = [h for h in inner if not is_ours(h)]
            if len(kept) == len(inner):
                kept_groups.append(group)
            elif kept:
                kept_groups.append({**group, "hooks": kept})
        if kept_groups != hooks[event]:
            if kept_groups:
                hooks[event] = kept_groups
            else:
                del hooks[event]
    if "hooks" in out and not hooks and settings.get("hooks"):
        del out["hooks"]
    return out


def add_grouped_hooks(settings: dict, hooks_layout: HookLayout, command: str,
                      run_async: bool = False, http: dict | None = None) -> dict:
    """A copy of ``settings`` with one Blueplane group per event (appended after the others).

    Idempotent: an event that already holds exactly our group is left as it is; any other
    Blueplane entry there (an older path, the other mode) is replaced.
    """
    out = copy.deepcopy(settings)
    hooks = _hooks_of(out)
    for event in hooks_layout.events:
        wanted = grouped_entry(hooks_layout, event, command, run_async, http)
        groups = hooks.get(event, [])
        ours = [g for g in groups if _is_our_group(g)]
        if ours == [wanted]:
            continue
        cleaned = remove_grouped_hooks({"hooks": {event: groups}}).get("hooks", {}).get(event, [])
        hooks[event] = [*cleaned, wanted]
    out["hooks"] = hooks
    return out


def _is_our_group(group: object) -> bool:
    inner = group.get("hooks") if isinstance(group, dict) else None
    return isinstance(inner, list) and any(is_ours(h) for h in inner)


# --- flat: {"version": 1, "hooks": {"<event>": [{"command": "..."}]}} ---------------------

def remove_flat_hooks(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    hooks = _hooks_of(out)
    for event in list(hooks):
        kept = [e for e in hooks[event]
                if not (isinstance(e, dict) and owner_of(e.get("command")))]
        if len(kept) != len(hooks[event]):
            if kept:
                hooks[event] = kept
            else:
                del hooks[event]
    return out


def add_flat_hooks(doc: dict, hooks_layout: HookLayout, command: str) -> dict:
    out = copy.deepcopy(doc)
    out.setdefault("version", 1)
    hooks = _hooks_of(out)
    for event in hooks_layout.events:
        wanted = {"command": command}
        entries = hooks.get(event, [])
        ours = [e for e in entries if isinstance(e, dict) and owner_of(e.get("command"))]
        if ours == [wanted]:
            continue
        others = [e for e in entries if e not in ours]
        hooks[event] = [*others, wanted]
    out["hooks"] = hooks
    return out


def installed_events(doc: dict) -> list[str]:
    """Events that currently run a Blueplane hook (either settings shape)."""
    hooks = doc.get("hooks") if isinstance(doc, dict) else None
    if not isinstance(hooks, dict):
        return []
    found = []
    for event, entries in hooks.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            handlers = [entry, *(entry.get("hooks") or [])]
            if any(is_ours(h) for h in handlers):
                found.append(event)
                break
    return found


def http_events(doc: dict) -> list[str]:
    """Events whose Blueplane hook is an HTTP handler (they need the collector running)."""
    hooks = doc.get("hooks") if isinstance(doc, dict) else None
    found = []
    for event, entries in (hooks.items() if isinstance(hooks, dict) else []):
        for entry in entries if isinstance(entries, list) else []:
            inner = entry.get("hooks") if isinstance(entry, dict) else None
            if any(isinstance(h, dict) and h.get("type") == "http" and is_ours(h)
                   for h in inner or []):
                found.append(event)
                break
    return found


def http_hook_urls(doc: dict) -> set[str]:
    """The URLs of the Blueplane HTTP hook handlers in ``doc``."""
    hooks = doc.get("hooks") if isinstance(doc, dict) else None
    urls: set[str] = set()
    for entries in (hooks.values() if isinstance(hooks, dict) else []):
        for entry in entries if isinstance(entries, list) else []:
            inner = entry.get("hooks") if isinstance(entry, dict) else None
            for h in inner if isinstance(inner, list) else []:
                if isinstance(h, dict) and h.get("type") == "http" and is_ours(h):
                    urls.add(h["url"])
    return urls


# --- the settings' "env" block (Claude Code: OpenTelemetry export) ---------------------
# The names of the variables install added, so that uninstall removes exactly those.
ENV_MARKER = "BLUEPLANE_ADDED_ENV"


def add_env(doc: dict, env: dict[str, str]) -> dict:
    """A copy of ``doc`` with ``env`` in its ``"env"`` block. A variable already set to
    another value is not ours to change: ``SettingsError`` names it."""
    out = copy.deepcopy(doc)
    block = out.get("env", {})
    if not isinstance(block, dict):
        raise SettingsError('"env" is not a JSON object')
    added = set(filter(None, str(block.get(ENV_MARKER, "")).split(",")))
    for key, value in env.items():
        if key in block and key not in added and block[key] != value:
            raise SettingsError(f'"env.{key}" is already set to {block[key]!r}; remove it or '
                                "point it at the collector yourself")
    for key, value in env.items():
        if key not in block or key in added:
            block[key] = value
            added.add(key)
    block[ENV_MARKER] = ",".join(sorted(added))
    out["env"] = block
    return out


def remove_env(doc: dict) -> dict:
    """A copy of ``doc`` without the variables install added (an emptied block goes too)."""
    out = copy.deepcopy(doc)
    block = out.get("env")
    if not isinstance(block, dict) or ENV_MARKER not in block:
        return out
    for key in str(block.pop(ENV_MARKER)).split(","):
        block.pop(key, None)
    if not block:
        del out["env"]
    return out


def added_env(doc: dict) -> dict[str, str]:
    block = doc.get("env") if isinstance(doc, dict) else None
    if not isinstance(block, dict) or ENV_MARKER not in block:
        return {}
    return {k: block[k] for k in str(block[ENV_MARKER]).split(",") if k in block}


# --- files ------------------------------------------------------------------------------

def settings_path(assistant: str, project: Path | None = None) -> Path:
    """The hook settings file of ``assistant`` (user-wide, or ``project``'s)."""
    return layout(assistant).settings_path(project)


def load_document(path: Path) -> tuple[dict, str | None]:
    """(parsed document, original text); a missing or empty file is an empty document."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    if not text.strip():
        return {}, text
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SettingsError(
            f"{path} is not valid JSON ({exc}); fix it or move it away, then run this again"
        ) from None
    if not isinstance(doc, dict):
        raise SettingsError(f"{path} does not hold a JSON object; nothing was changed")
    return doc, text


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


@dataclass
class Change:
    """What install/uninstall would do to one settings file."""

    assistant: str
    action: str  # "install" | "uninstall"
    path: Path
    old_text: str | None
    new_text: str
    events: list[str]

    @property
    def changed(self) -> bool:
        if self.old_text is None:
            return self.action == "install"
        return self.old_text != self.new_text

    def diff(self) -> str:
        old = (self.old_text or "").splitlines(keepends=True)
        new = self.new_text.splitlines(keepends=True)
        before = str(self.path) if self.old_text is not None else "/dev/null"
        return "".join(difflib.unified_diff(old, new, before, str(self.path)))


def plan(assistant: str, action: str, project: Path | None = None,
         command: str | None = None, run_async: bool = False, http: dict | None = None,
         env: dict[str, str] | None = None) -> Change:
    """Compute the change without touching the disk. ``http``: register HTTP handlers to
    the collector (``{"url", "headers"}``); ``env``: variables for the settings' ``"env"``
    (uninstall removes both, whatever install added)."""
    hooks_layout = layout(assistant)
    path = hooks_layout.settings_path(project)
    doc, text = load_document(path)
    grouped = hooks_layout.shape == "grouped"
    try:
        if action == "install":
            command = command or hook_command(assistant)
            new = (add_grouped_hooks(doc, hooks_layout, command, run_async=run_async,
                                     http=http)
                   if grouped else add_flat_hooks(doc, hooks_layout, command))
            if env:
                new = add_env(new, env)
        elif action == "uninstall":
            new = remove_grouped_hooks(doc) if grouped else remove_flat_hooks(doc)
            new = remove_env(new)
        else:
            raise ValueError(f"unknown action: {action}")
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}; nothing was changed") from None
    events = installed_events(new if action == "install" else doc)
    new_text = render(new) if (new != doc or text is None) else text
    return Change(assistant, action, path, text, new_text, events)


def apply(change: Change) -> Path | None:
    """Write the change (atomically); return the backup of the previous file, if any."""
    if not change.changed:
        return None
    path = change.path
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    mode = 0o644
    if change.old_text is not None:
        mode = path.stat().st_mode & 0o777
        backup = backup_path(path)
        backup.write_text(change.old_text, encoding="utf-8")
        os.chmod(backup, mode)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(change.new_text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    if change.action == "install":
        compile_hook_modules()
    return backup


def backup_path(path: Path) -> Path:
    """``<name>.blueplane-backup-<UTC time>`` next to the file, never overwriting one."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidate = path.with_name(f"{path.name}.blueplane-backup-{stamp}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.blueplane-backup-{stamp}-{n}")
        n += 1
    return candidate


# Every module of ours a hook process (capture, status line, budget gate) imports.
# ``tests/capture/test_hook.py`` checks the hook imports nothing of ours not named here.
HOOK_MODULES = (
    "blueplane_pipeline", "blueplane_pipeline.capture", "blueplane_pipeline.core",
    "blueplane_pipeline.core.config", "blueplane_pipeline.core.envelope",
    "blueplane_pipeline.core.platforms", "blueplane_pipeline.core.privacy",
    "blueplane_pipeline.core.redaction", "blueplane_pipeline.core.times",
    "blueplane_pipeline.capture.hook", "blueplane_pipeline.capture.resp",
    "blueplane_pipeline.capture.spool", "blueplane_pipeline.capture.statusline",
    "blueplane_pipeline.capture.budget_gate", "blueplane_pipeline.budgets",
    "blueplane_pipeline.budgets.evaluate", "blueplane_pipeline.budgets.store",
)


def compile_hook_modules() -> None:
    """Write bytecode for the modules the hook imports, so no event pays for compiling them
    (editable installs, or ``PYTHONDONTWRITEBYTECODE`` set when they were first imported)."""
    import importlib
    import py_compile

    for name in HOOK_MODULES:
        with contextlib.suppress(ImportError, OSError, py_compile.PyCompileError):
            py_compile.compile(importlib.import_module(name).__file__, doraise=True)
