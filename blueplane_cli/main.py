"""``blueplane``: the command line. Subcommands load lazily so reports stay fast.

Each command lives in its own module; add it to ``COMMANDS`` as ``"name": "module:attr"``.
Report paths import neither Dagster nor pandas.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "up": "blueplane_cli.services_cmd:up",
    "down": "blueplane_cli.services_cmd:down",
    "status": "blueplane_cli.services_cmd:status",
    "ui": "blueplane_cli.services_cmd:ui",
    "ingest": "blueplane_cli.ingest_cmd:ingest",
    "refresh": "blueplane_cli.refresh_cmd:refresh",
    "import": "blueplane_cli.import_cmd:import_",
    "demo": "blueplane_cli.demo_cmd:demo",
    "install": "blueplane_cli.install_cmd:install",
    "uninstall": "blueplane_cli.install_cmd:uninstall",
    "usage": "blueplane_cli.usage_cmd:usage",
    "pricing": "blueplane_cli.pricing_cmd:pricing",
    "serve": "blueplane_cli.serve_cmd:serve",
    "metrics": "blueplane_cli.metrics_cmd:metrics",
    "sessions": "blueplane_cli.sessions_cmd:sessions",
    "analyze": "blueplane_cli.analyze_cmd:analyze",
    "tools": "blueplane_cli.tools_cmd:tools",
    "insights": "blueplane_cli.insights_cmd:insights",
    "export": "blueplane_cli.export_cmd:export",
    "watch": "blueplane_cli.watch_cmd:watch",
    "config": "blueplane_cli.config_cmd:config",
    "purge": "blueplane_cli.purge_cmd:purge",
    "team": "blueplane_cli.team_cmd:team",
    "search": "blueplane_cli.search_cmd:search",
    "budget": "blueplane_cli.budget_cmd:budget",
    "statusline": "blueplane_cli.statusline_cmd:statusline",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is used, and turns
    any failure a command left unhandled into one error line (``blueplane_cli.errors``)."""

    def invoke(self, ctx: click.Context):
        from blueplane_pipeline.core.config import private_umask

        private_umask()  # telemetry.db, logs, spool: readable by this user only
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt,
                SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            import os

            if os.environ.get("BLUEPLANE_DEBUG"):
                raise
            from blueplane_cli.errors import describe

            click.echo(f"Error: {describe(exc)}", err=True)
            ctx.exit(1)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(super().list_commands(ctx)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return super().get_command(ctx, name)
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="blueplane")
def cli() -> None:
    """Blueplane: local telemetry and analytics for Claude Code, Cursor, Codex and Gemini CLI.

    Everything stays on this machine, under BLUEPLANE_HOME (default ~/.blueplane).
    """


if __name__ == "__main__":
    cli()
