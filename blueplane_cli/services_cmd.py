"""``blueplane up|down|status``: the local services, detached."""

from __future__ import annotations

import click

from blueplane_cli.output import emit_json, fail, human_bytes


@click.command()
@click.option("--no-dagster", is_flag=True, help="Do not start the Dagster webserver/daemon.")
@click.option("--no-datasette", is_flag=True, help="Do not start Datasette.")
@click.option("--no-collector", is_flag=True,
              help="Do not start blueplane-collector (OTLP/HTTP + HTTP hooks).")
@click.option("--dagster-port", type=int, default=None, help="Dagster UI port (default 3000).")
@click.option("--datasette-port", type=int, default=None, help="Datasette port (default 8001).")
@click.option("--collector-port", type=int, default=None,
              help="blueplane-collector port (default 4318, config collector_port).")
@click.option("--timeout", type=float, default=90.0, show_default=True,
              help="Seconds to wait for each service to answer.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback `host` from config.toml (anyone who can reach it "
                   "reads your data and can change the pipeline).")
@click.option("--json", "as_json", is_flag=True, help="Print what runs where as JSON.")
def up(no_dagster: bool, no_datasette: bool, no_collector: bool, dagster_port: int | None,
       datasette_port: int | None, collector_port: int | None, timeout: float,
       allow_remote: bool, as_json: bool) -> None:
    """Start Redis (embedded), the collector, Dagster and Datasette unless already running."""
    import os

    from blueplane_pipeline.core import config
    from blueplane_pipeline.runtime import redis_server, services

    settings = config.load_settings()
    host = settings.host
    try:
        config.listen_host(host, allow_remote)
    except ValueError as exc:
        fail(f"{exc} (host is set in {config.config_file()})")
    if not config.is_loopback(host):
        click.echo(f"Warning: listening on {host}: anyone who can reach it can read your "
                   "telemetry, prompts included, and stop the pipeline.", err=True)
        os.environ[config.ALLOWED_HOSTS_ENV] = "*"
    dport = dagster_port or settings.dagster_port
    sport = datasette_port or settings.datasette_port
    started: dict[str, str] = {}
    try:
        if config.uses_embedded_redis():
            services.start_redis()
            started["redis"] = f"unix://{config.redis_socket()}"
        else:
            started["redis"] = f"{config.redis_url()} (external, not started)"
        from blueplane_pipeline.storage.db import open_db

        open_db(config.db_path()).close()  # schema exists before any reader starts
        wanted = []
        if not no_collector:
            cport = collector_port or settings.collector_port
            (config.run_dir() / "collector.port").write_text(str(cport))
            wanted.append(services.collector_service(host, cport))
        if not no_dagster:
            (config.run_dir() / "dagster.port").write_text(str(dport))
            wanted += services.dagster_services(host, dport)
        if not no_datasette:
            (config.run_dir() / "datasette.port").write_text(str(sport))
            wanted.append(services.datasette_service(host, sport))
        for svc in wanted:
            services.start(svc)
            services.wait_ready(svc, timeout)
            started[svc.name] = _origin(svc.url) if svc.url else "running"
    except (services.ServiceError, redis_server.RedisUnavailable, OSError) as exc:
        fail(str(exc))
    if as_json:
        emit_json(started)
        return
    for name, where in started.items():
        click.echo(f"{name:18} {where}")
    if "dagster-webserver" in started:
        click.echo(f"Dagster UI: http://{host}:{dport}   (stop everything: blueplane down)")


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@click.command()
def down() -> None:
    """Stop what `blueplane up` started (and nothing else)."""
    from blueplane_pipeline.runtime import services

    stopped = [name for name in ("datasette", "dagster-webserver", "dagster-daemon",
                                 "dagster-code", "collector") if services.stop(name)]
    if services.stop_redis():
        stopped.append("redis")
    click.echo("stopped: " + ", ".join(stopped) if stopped else "nothing was running")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Services, stream lag, pending and dead letters, spool, storage, last ingest."""
    from blueplane_pipeline.budgets.current import current_states, summary_line
    from blueplane_pipeline.runtime.status import collect

    info = collect()
    info["budgets"] = current_states()
    if as_json:
        emit_json(info)
        return
    click.echo(f"home: {info['home']}   privacy: {info['privacy_mode']}")
    if info["budgets"]:
        click.echo(f"budgets: {summary_line(info['budgets'])}")
    for warning in info.get("warnings", []):
        click.echo(f"Warning: {warning}", err=True)
    for name, svc in info["services"].items():
        state = "up" if svc["up"] else "down"
        extra = svc.get("url") or svc.get("kind") or ""
        click.echo(f"  {name:18} {state:5} {extra}")
    s = info["stream"]
    if s is None:
        click.echo("stream: Redis not reachable (start it with `blueplane up`)")
    elif "error" in s:
        click.echo(f"stream: error {s['error']}")
    else:
        click.echo(f"stream: length {s['length']}, lag {s['lag']}, pending {s['pending']}, "
                   f"dead letters {s['dead_letters']}")
    sp = info["spool"]
    click.echo(f"spool: {sp['files']} file(s) waiting ({human_bytes(sp['bytes'])})")
    if info["hook_errors"]:
        click.echo(f"hook errors: {info['hook_errors']} logged in "
                   f"{info['home']}/logs/hook-errors.log")
    st = info["storage"]
    if not st.get("exists"):
        click.echo(f"storage: no database yet at {st['db']}")
        return
    if "error" in st:
        click.echo(f"storage: {st['error']}")
        return
    click.echo(f"storage: {st['raw_events']} events, raw {human_bytes(st['raw_bytes'])} -> "
               f"stored {human_bytes(st['stored_bytes'])} "
               f"({st['compression_ratio'] or '-'}x), db file {human_bytes(st['db_bytes'])}")
    last = st.get("last_ingest")
    if last:
        click.echo(f"last ingest: {last['finished_at']} ({last['trigger']}): "
                   f"{last['events_stored']} stored, {last['events_per_s']} ev/s, "
                   f"batch p50 {_ms(last['batch_p50_ms'])} p95 {_ms(last['batch_p95_ms'])}")
    else:
        click.echo("last ingest: never")


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} ms"
