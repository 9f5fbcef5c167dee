"""``blueplane install|uninstall <assistant>``: thin wiring over ``capture.installers``.

The assistants are the registry's (``core.platforms``): each one whose module declares an
``INSTALLER`` (Claude Code, Cursor, Codex), plus ``mcp`` (the MCP server registration).
"""

from __future__ import annotations

from pathlib import Path

import click

from blueplane_cli.output import emit_json, fail


class AssistantChoice(click.Choice):
    """The registry's assistants (by command-line name) and ``mcp``, read when parsed."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from blueplane_pipeline.core import platforms

        return (*(p.cli_name for p in platforms.assistants()), "mcp")

    @choices.setter
    def choices(self, _value: object) -> None:  # click.Choice.__init__ assigns it
        pass


_assistant = click.argument("assistant", type=AssistantChoice())
_project = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path),
    help="Change DIR/.claude/settings.json (DIR/.cursor/hooks.json, DIR/.codex/hooks.json) "
         "instead of the user-wide settings (Codex: $CODEX_HOME/hooks.json).")
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
@_json
def install(assistant: str, project: Path | None, dry_run: bool, run_async: bool,
            as_json: bool) -> None:
    """Register blueplane-hook for every captured event of ASSISTANT.

    `blueplane install mcp` registers the blueplane-mcp server with Claude Code instead.

    Idempotent; the previous file is kept as a timestamped backup next to it, and other
    tools' hooks are left as they are.
    """
    if assistant == "mcp":
        from blueplane_cli.install_mcp import run

        return run("install", project, dry_run, as_json)
    _run(assistant, "install", project, dry_run, as_json, run_async=run_async)


@click.command()
@_assistant
@_project
@_dry_run
@_json
def uninstall(assistant: str, project: Path | None, dry_run: bool, as_json: bool) -> None:
    """Remove exactly the hooks `blueplane install` added for ASSISTANT (or, for `mcp`,
    the blueplane-mcp server registration)."""
    if assistant == "mcp":
        from blueplane_cli.install_mcp import run

        return run("uninstall", project, dry_run, as_json)
    _run(assistant, "uninstall", project, dry_run, as_json)


def _run(assistant: str, action: str, project: Path | None, dry_run: bool, as_json: bool,
         run_async: bool = False) -> None:
    from blueplane_pipeline.capture import installers
    from blueplane_pipeline.core import platforms

    try:
        hooks_layout = installers.layout(assistant)
    except ValueError:
        fail(f"{assistant} has no hooks to install")
    try:
        change = installers.plan(assistant, action, project, run_async=run_async)
        backup = None if dry_run else installers.apply(change)
    except installers.SettingsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {exc.filename or 'the settings file'}: {exc.strerror}")
    name = platforms.from_cli(assistant).label
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
    if action == "install":
        click.echo(f"Registered blueplane-hook for {len(change.events)} {name} events in "
                   f"{change.path}.")
    else:
        click.echo(f"Removed blueplane-hook from {len(change.events)} {name} events in "
                   f"{change.path}.")
    if backup:
        click.echo(f"Previous file kept as {backup}.")
    click.echo(hooks_layout.restart_note)
