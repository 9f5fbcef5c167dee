"""``blueplane serve``: Datasette over ``telemetry.db`` in the foreground, read-only.

The same Datasette ``blueplane up`` starts detached (one argv, ``datasette_config``).
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3

import click

from blueplane_cli.output import fail


@click.command()
@click.option("--host", default=None, help="Address to listen on (loopback only; default "
                                           "127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8001, or datasette_port "
                                                    "in config.toml).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host (anyone who can reach it reads your data).")
def serve(host: str | None, port: int | None, allow_remote: bool) -> None:
    """Browse the telemetry in Datasette: tables, canned queries, the dashboard.

    Serves telemetry.db read-only at http://127.0.0.1:8001 until Ctrl-C. The dashboard is
    at /-/dashboards/overview; raw rows decode with the SQL function blueplane_event(seq).
    """
    from blueplane_pipeline.core import config
    from blueplane_pipeline.datasette.config import DASHBOARD_SLUG, datasette_argv
    from blueplane_pipeline.runtime import services

    settings = config.load_settings()
    host = host or settings.host
    port = port or settings.datasette_port
    try:
        config.listen_host(host, allow_remote)
    except ValueError as exc:
        fail(str(exc))
    if allow_remote and not config.is_loopback(host):
        click.echo(f"Warning: serving on {host}: anyone who can reach it can read your "
                   "telemetry, prompts included.", err=True)
        os.environ[config.ALLOWED_HOSTS_ENV] = "*"
    db = config.db_path()
    if not db.exists():
        fail(f"no telemetry database at {db} yet: run `blueplane up` (or `blueplane import`) "
             "first")
    if services.read_pid("datasette"):
        running = _running_port(config.run_dir() / "datasette.port", settings.datasette_port)
        click.echo(f"Datasette is already running (started by `blueplane up`): "
                   f"http://{host}:{running}/")
        return
    note = schema_note(db)
    if note:
        click.echo(f"Warning: {note}", err=True)
    if not port_free(host, port):
        fail(f"port {port} on {host} is already in use: pick another with --port")
    argv = datasette_argv(host, port)
    click.echo(f"Serving {db} read-only at http://{host}:{port}/  "
               f"(dashboard: /-/dashboards/{DASHBOARD_SLUG}; Ctrl-C to stop)")
    try:
        os.execv(argv[0], argv)
    except OSError as exc:
        fail(f"cannot start Datasette ({argv[0]}): {exc.strerror}")


def schema_note(db) -> str | None:
    """A warning when the file predates this version's schema (tables may be missing)."""
    from blueplane_pipeline.read.connect import ReadError, open_reader
    from blueplane_pipeline.read.schema import schema_lag

    try:
        conn = open_reader(db)
    except ReadError as exc:
        return str(exc)
    try:
        return schema_lag(conn, db.name)
    except sqlite3.DatabaseError as exc:
        return f"cannot read {db}: {exc}"
    finally:
        conn.close()


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _running_port(path, default: int) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return default
