"""``blueplane install|uninstall mcp``: register ``blueplane-mcp`` with Claude Code.

With the ``claude`` CLI on PATH, its own ``claude mcp add/remove`` does the work (user scope,
or project scope with ``--project``), so Claude Code's files are only ever written by Claude
Code. Without it, the project's ``.mcp.json`` (``--project`` or the current folder) is
merged by hand, with a backup, keeping other servers. Either way the Claude Desktop snippet
is printed: its config file is the user's to edit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from blueplane_cli.output import emit_json, fail

SERVER_NAME = "blueplane"
CLAUDE_TIMEOUT_S = 60


class McpInstallError(Exception):
    """Registration failed; the message says why and what to do."""


@dataclass
class Result:
    action: str  # "install" | "uninstall"
    method: str  # "claude mcp" | ".mcp.json"
    scope: str  # "user" | "project"
    path: Path | None
    changed: bool
    backup: Path | None
    entry: dict
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {"action": self.action, "method": self.method, "scope": self.scope,
                "path": str(self.path) if self.path else None, "changed": self.changed,
                "backup": str(self.backup) if self.backup else None, "server": self.entry,
                "dry_run": self.dry_run, "claude_desktop": desktop_snippet(self.entry)}


def server_entry() -> dict:
    """The stdio server definition (absolute command, so no PATH is needed)."""
    exe = Path(sys.executable).parent / "blueplane-mcp"
    command, args = ((str(exe), []) if exe.exists()
                     else (sys.executable, ["-m", "mcp_server.server"]))
    env = {"BLUEPLANE_HOME": os.environ["BLUEPLANE_HOME"]} if os.environ.get(
        "BLUEPLANE_HOME") else {}
    return {"type": "stdio", "command": command, "args": args, "env": env}


def desktop_snippet(entry: dict) -> dict:
    """What to merge into Claude Desktop's ``claude_desktop_config.json``."""
    server = {"command": entry["command"], "args": entry["args"]}
    if entry["env"]:
        server["env"] = entry["env"]
    return {"mcpServers": {SERVER_NAME: server}}


def desktop_config_path() -> str:
    if sys.platform == "darwin":
        return "~/Library/Application Support/Claude/claude_desktop_config.json"
    if sys.platform == "win32":
        return r"%APPDATA%\Claude\claude_desktop_config.json"
    return "claude_desktop_config.json (Claude Desktop runs on macOS and Windows)"


def merged(doc: dict, entry: dict | None) -> dict:
    """``doc`` with our server set to ``entry`` (or removed when None), others untouched."""
    out = dict(doc)
    servers = dict(out.get("mcpServers") or {})
    if entry is None:
        servers.pop(SERVER_NAME, None)
    else:
        servers[SERVER_NAME] = entry
    out["mcpServers"] = servers
    return out


def claude_cli() -> str | None:
    return shutil.which("claude")


def _claude(claude: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([claude, "mcp", *args], capture_output=True, text=True,
                              cwd=cwd, timeout=CLAUDE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise McpInstallError(f"`claude mcp {args[0]}` did not run: {exc}") from None


def _current(scope: str, project: Path | None) -> tuple[Path, dict | None]:
    """Where Claude Code keeps the scope's servers, and our entry there (read only)."""
    from blueplane_pipeline.capture.installers import SettingsError, load_document

    path = (project / ".mcp.json") if scope == "project" else Path.home() / ".claude.json"
    try:
        doc, _ = load_document(path)
    except SettingsError:
        return path, None
    entry = (doc.get("mcpServers") or {}).get(SERVER_NAME)
    return path, entry if isinstance(entry, dict) else None


def _via_claude(claude: str, action: str, scope: str, project: Path | None,
                dry_run: bool) -> Result:
    entry = server_entry()
    path, current = _current(scope, project)
    wanted = entry if action == "install" else None
    same = (current is not None and {k: current.get(k) for k in entry} == entry) \
        if wanted else current is None
    result = Result(action, "claude mcp", scope, path, not same, None, entry, dry_run)
    if same or dry_run:
        return result
    if current is not None:
        proc = _claude(claude, "remove", SERVER_NAME, "-s", scope, cwd=project)
        if proc.returncode != 0:
            raise McpInstallError(f"`claude mcp remove` failed: {_last_line(proc)}")
    if action == "install":
        env = [f"{k}={v}" for k, v in entry["env"].items()]
        argv = ["add", "-s", scope, SERVER_NAME, *(["-e", *env] if env else []),
                "--", entry["command"], *entry["args"]]
        proc = _claude(claude, *argv, cwd=project)
        if proc.returncode != 0:
            raise McpInstallError(f"`claude mcp add` failed: {_last_line(proc)}")
    return result


def _via_file(action: str, project: Path, dry_run: bool) -> Result:
    from blueplane_pipeline.capture.installers import (
        Change,
        SettingsError,
        apply,
        load_document,
        render,
    )

    entry = server_entry()
    path = project / ".mcp.json"
    try:
        doc, text = load_document(path)
    except SettingsError as exc:
        raise McpInstallError(str(exc)) from None
    if action == "uninstall" and SERVER_NAME not in (doc.get("mcpServers") or {}):
        return Result(action, ".mcp.json", "project", path, False, None, entry, dry_run)
    new = merged(doc, entry if action == "install" else None)
    new_text = render(new) if (new != doc or text is None) else text
    change = Change("mcp", action, path, text, new_text, [])
    backup = None
    if not dry_run:
        try:
            backup = apply(change)
        except OSError as exc:
            raise McpInstallError(f"cannot write {path}: {exc.strerror}") from None
    return Result(action, ".mcp.json", "project", path, change.changed, backup, entry, dry_run)


def register(action: str, project: Path | None, dry_run: bool = False) -> Result:
    """Install or uninstall; ``claude mcp`` when available, else the project's .mcp.json."""
    claude = claude_cli()
    scope = "project" if project is not None else "user"
    if project is not None:
        project = project.resolve()
        if not project.is_dir():
            raise McpInstallError(f"{project} is not a folder")
    if claude:
        return _via_claude(claude, action, scope, project, dry_run)
    return _via_file(action, project or Path.cwd(), dry_run)


def _last_line(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or proc.stdout or "").strip().splitlines()
    return text[-1] if text else f"exit code {proc.returncode}"


def run(action: str, project: Path | None, dry_run: bool, as_json: bool) -> None:
    """The CLI wiring, called by ``blueplane install|uninstall mcp``."""
    try:
        result = register(action, project, dry_run)
    except McpInstallError as exc:
        fail(str(exc))
    if as_json:
        emit_json(result.as_dict())
        return
    where = (f"Claude Code ({result.scope} scope, via `claude mcp`)" if result.method ==
             "claude mcp" else str(result.path))
    if not result.changed:
        state = "already registered" if action == "install" else "not registered"
        click.echo(f"Nothing to do: {SERVER_NAME} is {state} in {where}.")
    elif dry_run:
        verb = "register" if action == "install" else "remove"
        click.echo(f"Would {verb} the {SERVER_NAME} MCP server in {where}.")
    elif action == "install":
        click.echo(f"Registered the {SERVER_NAME} MCP server in {where}: "
                   f"{result.entry['command']} {' '.join(result.entry['args'])}".rstrip())
    else:
        click.echo(f"Removed the {SERVER_NAME} MCP server from {where}.")
    if result.backup:
        click.echo(f"Previous file kept as {result.backup}.")
    if action == "install":
        if result.method == ".mcp.json":
            click.echo("The `claude` CLI was not found, so the project's .mcp.json was used; "
                       "Claude Code asks to approve project servers on first use.")
        click.echo(f"\nClaude Desktop: merge this into {desktop_config_path()}:")
        click.echo(json.dumps(desktop_snippet(result.entry), indent=2))
