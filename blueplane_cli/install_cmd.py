"""``blueplane install|uninstall claude-code|cursor``: thin wiring over ``capture.installers``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from blueplane_cli.output import emit_json, fail

ASSISTANT_NAMES = {"claude-code": "Claude Code", "cursor": "Cursor"}
RESTART_NOTE = {
    "claude-code": "Claude Code reads hooks when a session starts: restart it, or review them "
                   "with /hooks in a running session.",
    "cursor": "Restart Cursor (or reload its window) so it reads the hooks file again.",
}

_assistant = click.argument("assistant", type=click.Choice(["claude-code", "cursor", "mcp"]))
_project = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path),
    help="Change DIR/.claude/settings.json (or DIR/.cursor/hooks.json) instead of the "
         "user-wide settings.")
_dry_run = click.option("--dry-run", is_flag=True,
                        help="Print the change as a diff; write nothing.")
_json = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.command()
@_assistant
@_project
@_dry_run
@click.option("--async", "run_async", is_flag=True,
              help="Claude Code only: register the hooks as async (the CLI does not wait for "
                   "them; events at the very end of a session can be lost).")
@click.option("--statusline", is_flag=True,
              help="Claude Code only: also show `blueplane statusline` as its status line "
                   "(cost today, the 5-hour block, context, budgets).")
@click.option("--force", is_flag=True,
              help="With --statusline: replace a status line that is already registered "
                   "(uninstall puts it back).")
@_json
def install(assistant: str, project: Path | None, dry_run: bool, run_async: bool,
            statusline: bool, force: bool, as_json: bool) -> None:
    """Register blueplane-hook for every captured event of ASSISTANT.

    `blueplane install mcp` registers the blueplane-mcp server with Claude Code instead.

    Idempotent; the previous file is kept as a timestamped backup next to it, and other
    tools' hooks are left as they are.
    """
    if assistant == "mcp":
        from blueplane_cli.install_mcp import run

        return run("install", project, dry_run, as_json)
    if statusline and assistant != "claude-code":
        fail("--statusline is for claude-code (Cursor has no status line command)")
    _run(assistant, "install", project, dry_run, as_json, run_async=run_async,
         statusline=statusline, force=force)


@click.command()
@_assistant
@_project
@_dry_run
@click.option("--statusline", "only_statusline", is_flag=True,
              help="Claude Code only: remove only our status line (and put back the one "
                   "--force replaced); the hooks stay.")
@_json
def uninstall(assistant: str, project: Path | None, dry_run: bool, only_statusline: bool,
              as_json: bool) -> None:
    """Remove exactly the hooks (and the status line) `blueplane install` added for
    ASSISTANT (or, for `mcp`, the blueplane-mcp server registration)."""
    if assistant == "mcp":
        from blueplane_cli.install_mcp import run

        return run("uninstall", project, dry_run, as_json)
    _run(assistant, "uninstall", project, dry_run, as_json,
         statusline=assistant == "claude-code", only_statusline=only_statusline)


def _run(assistant: str, action: str, project: Path | None, dry_run: bool, as_json: bool,
         run_async: bool = False, statusline: bool = False, force: bool = False,
         only_statusline: bool = False) -> None:
    from blueplane_pipeline.capture import installers
    from blueplane_pipeline.capture import statusline_install as sl

    replaced = restored = None
    try:
        if only_statusline:
            path = installers.settings_path(assistant, project)
            _, text = installers.load_document(path)
            change = installers.Change(assistant, action, path, text, text or "", [])
        else:
            change = installers.plan(assistant, action, project, run_async=run_async)
        if statusline:
            doc = json.loads(change.new_text) if change.new_text.strip() else {}
            if action == "install":
                new, replaced = sl.add(doc, sl.command(), force)
            else:
                restored = sl.saved_for(str(change.path))
                new = sl.remove(doc, restored)
            if new != doc:
                change.new_text = installers.render(new)
                change.events = [*change.events, sl.KEY]
        backup = None if dry_run else installers.apply(change)
        if not dry_run and statusline and sl.KEY in change.events:
            sl.remember(str(change.path), replaced if action == "install" else None)
    except sl.StatusLineTaken as exc:
        fail(f"{change.path}: {exc}")
    except installers.SettingsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {exc.filename or 'the settings file'}: {exc.strerror}")
    name = ASSISTANT_NAMES[assistant]
    if as_json:
        emit_json({"assistant": assistant, "action": action, "path": str(change.path),
                   "changed": change.changed, "dry_run": dry_run, "events": change.events,
                   "backup": str(backup) if backup else None,
                   "diff": change.diff() if dry_run else None})
        return
    if dry_run:
        click.echo(change.diff() or f"No change to {change.path}.", nl=False)
        if not change.changed:
            click.echo()
        return
    if not change.changed:
        state = "already registered" if action == "install" else "not registered"
        click.echo(f"Nothing to do: blueplane-hook is {state} in {change.path}.")
        return
    hooks = [e for e in change.events if e != sl.KEY]
    if action == "install":
        if hooks:
            click.echo(f"Registered blueplane-hook for {len(hooks)} {name} events in "
                       f"{change.path}.")
        if sl.KEY in change.events:
            click.echo("Registered `blueplane statusline` as the status line"
                       + (" (the previous one is kept for uninstall)." if replaced else "."))
    else:
        if hooks:
            click.echo(f"Removed blueplane-hook from {len(hooks)} {name} events in "
                       f"{change.path}.")
        if sl.KEY in change.events:
            click.echo("Removed our status line" + (" and put yours back." if restored
                                                     else "."))
    if backup:
        click.echo(f"Previous file kept as {backup}.")
    click.echo(RESTART_NOTE[assistant])
