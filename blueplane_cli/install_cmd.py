"""``blueplane install|uninstall <assistant>``: thin wiring over ``capture.installers``.

The assistants are the registry's (``core.platforms``): each one whose module declares an
``INSTALLER`` (Claude Code, Cursor, Codex), plus ``mcp`` (the MCP server registration).
"""

from __future__ import annotations

import json
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
@click.option("--statusline", is_flag=True,
              help="Claude Code only: also show `blueplane statusline` as its status line "
                   "(cost today, the 5-hour block, context, budgets).")
@click.option("--force", is_flag=True,
              help="With --statusline: replace a status line that is already registered "
                   "(uninstall puts it back).")
@click.option("--transport", type=click.Choice(["command", "http"]), default="command",
              show_default=True,
              help="Claude Code only: `http` registers HTTP handlers to blueplane-collector "
                   "for every event but SessionStart (about 9 ms per event instead of 45, "
                   "but events are lost while the collector is down; see docs/collector.md).")
@click.option("--otel", is_flag=True,
              help="Claude Code only: also write the settings' \"env\" so the CLI exports "
                   "OpenTelemetry (exact tokens and cost, lines of code, active time, "
                   "accept/reject decisions) to blueplane-collector.")
@click.option("--otel-protocol", type=click.Choice(["http/json", "http/protobuf"]),
              default="http/json", show_default=True, help="With --otel: the OTLP encoding.")
@_json
def install(assistant: str, project: Path | None, dry_run: bool, run_async: bool,
            statusline: bool, force: bool, transport: str, otel: bool, otel_protocol: str,
            as_json: bool) -> None:
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
    if (transport == "http" or otel) and assistant != "claude-code":
        fail("--transport http and --otel are for claude-code only")
    if transport == "http" and run_async:
        fail("--async is for command hooks; HTTP hooks cannot be async")
    http, env = _collector_options(transport, otel, otel_protocol)
    if otel and project is not None:
        from blueplane_pipeline.sources.claude_code.telemetry import PROJECT_NOTE

        click.echo(f"Warning: {PROJECT_NOTE}", err=True)
    _run(assistant, "install", project, dry_run, as_json, run_async=run_async,
         statusline=statusline, force=force, http=http, env=env)


def _collector_options(transport: str, otel: bool, protocol: str
                       ) -> tuple[dict | None, dict | None]:
    """The HTTP handler and the OTel env that point at the configured collector."""
    if transport != "http" and not otel:
        return None, None
    from blueplane_pipeline.capture.installers import http_hook_url
    from blueplane_pipeline.collector.server import configured_token
    from blueplane_pipeline.core import config
    from blueplane_pipeline.sources.claude_code.telemetry import otel_env

    port = config.load_settings().collector_port
    token = configured_token()
    http = None
    if transport == "http":
        http = {"url": http_hook_url("claude-code", port),
                "headers": {"Authorization": f"Bearer {token}"} if token else {}}
    env = otel_env(port, protocol, token) if otel else None
    return http, env


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
         only_statusline: bool = False, http: dict | None = None,
         env: dict | None = None) -> None:
    from blueplane_pipeline.capture import installers
    from blueplane_pipeline.capture import statusline_install as sl
    from blueplane_pipeline.core import platforms

    try:
        hooks_layout = installers.layout(assistant)
    except ValueError:
        fail(f"{assistant} has no hooks to install")
    replaced = restored = None
    try:
        if only_statusline:
            path = installers.settings_path(assistant, project)
            _, text = installers.load_document(path)
            change = installers.Change(assistant, action, path, text, text or "", [])
        else:
            change = installers.plan(assistant, action, project, run_async=run_async,
                                     http=http, env=env)
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
    name = platforms.from_cli(assistant).label
    if as_json:
        emit_json({"assistant": assistant, "action": action, "path": str(change.path),
                   "changed": change.changed, "dry_run": dry_run, "events": change.events,
                   "transport": "http" if http else "command", "otel_env": env,
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
            how = "HTTP hooks to blueplane-collector" if http else "blueplane-hook"
            click.echo(f"Registered {how} for {len(hooks)} {name} events in "
                       f"{change.path}.")
        if sl.KEY in change.events:
            click.echo("Registered `blueplane statusline` as the status line"
                       + (" (the previous one is kept for uninstall)." if replaced else "."))
        if http:
            click.echo("SessionStart stays a command hook (the CLI sends it to commands only). "
                       "Events sent while the collector is down are lost: keep `blueplane up` "
                       "running.")
        if env:
            click.echo(f"OpenTelemetry export to {env['OTEL_EXPORTER_OTLP_ENDPOINT']} "
                       f"({env['OTEL_EXPORTER_OTLP_PROTOCOL']}) added to \"env\".")
    else:
        if hooks:
            click.echo(f"Removed blueplane-hook from {len(hooks)} {name} events in "
                       f"{change.path}.")
        if sl.KEY in change.events:
            click.echo("Removed our status line" + (" and put yours back." if restored
                                                     else "."))
    if backup:
        click.echo(f"Previous file kept as {backup}.")
    click.echo(hooks_layout.restart_note)
