"""``blueplane up|down|status``: the local services, detached."""

from __future__ import annotations

import click

from blueplane_cli.output import emit_json, fail, human_bytes

_LISTEN_OPTIONS = [
    click.option("--dagster-port", type=int, default=None, help="Dagster UI port (default 3000)."),
    click.option("--datasette-port", type=int, default=None,
                 help="Datasette port (default 8001)."),
    click.option("--timeout", type=float, default=90.0, show_default=True,
                 help="Seconds to wait for each service to answer."),
    click.option("--allow-remote", is_flag=True,
                 help="Allow a non-loopback `host` from config.toml (anyone who can reach it "
                      "reads your data and can change the pipeline)."),
    click.option("--json", "as_json", is_flag=True, help="Print what runs where as JSON."),
]


def _listen_options(fn):
    for option in reversed(_LISTEN_OPTIONS):
        fn = option(fn)
    return fn


@click.command()
@click.option("--ui", is_flag=True,
              help="Also start the Dagster UI and Datasette (otherwise: `blueplane ui`).")
@click.option("--no-dagster", is_flag=True, help="Do not start the Dagster daemon (or UI).")
@click.option("--no-datasette", is_flag=True, help="With --ui: do not start Datasette.")
@click.option("--no-collector", is_flag=True,
              help="Do not start blueplane-collector (OTLP/HTTP + HTTP hooks).")
@click.option("--collector-port", type=int, default=None,
              help="blueplane-collector port (default 4318, config collector_port).")
@_listen_options
def up(ui: bool, no_dagster: bool, no_datasette: bool, no_collector: bool,
       collector_port: int | None, dagster_port: int | None, datasette_port: int | None,
       timeout: float, allow_remote: bool, as_json: bool) -> None:
    """Start Redis (embedded), blueplane-collector and the blueplane daemon; with --ui,
    the UIs too.

    The daemon runs the Dagster sensors and schedules and executes their small runs in
    its own threads, so capture and analytics keep up for about 1 % of a core. The Dagster
    UI and Datasette start on demand: `blueplane up --ui` or later `blueplane ui`.
    """
    groups = {"core", "ui"} if ui else {"core"}
    _start(groups, dagster=not no_dagster, datasette=not no_datasette,
           collector=not no_collector, collector_port=collector_port,
           dagster_port=dagster_port, datasette_port=datasette_port, timeout=timeout,
           allow_remote=allow_remote, as_json=as_json, redis=True)


@click.command()
@click.option("--stop", is_flag=True, help="Stop the UIs (the pipeline keeps running).")
@click.option("--no-datasette", is_flag=True, help="Only the Dagster UI.")
@click.option("--no-dagster", is_flag=True, help="Only Datasette.")
@_listen_options
def ui(stop: bool, no_datasette: bool, no_dagster: bool, dagster_port: int | None,
       datasette_port: int | None, timeout: float, allow_remote: bool, as_json: bool) -> None:
    """Start the Dagster UI and Datasette beside a running `blueplane up` (or stop them).

    They cost ~350 MB while open and nothing once stopped; the pipeline does not need them.
    """
    from blueplane_pipeline.runtime import services

    if stop:
        names = [s.name for s in reversed(services.selected({"ui"})) if services.stop(s.name)]
        click.echo("stopped: " + ", ".join(names) if names else "no UI was running")
        return
    _start({"ui"}, dagster=not no_dagster, datasette=not no_datasette,
           dagster_port=dagster_port, datasette_port=datasette_port, timeout=timeout,
           allow_remote=allow_remote, as_json=as_json, redis=False)


def _start(groups: set[str], *, dagster: bool, datasette: bool, dagster_port: int | None,
           datasette_port: int | None, timeout: float, allow_remote: bool, as_json: bool,
           redis: bool, collector: bool = True, collector_port: int | None = None) -> None:
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
    at = services.Listen(host, dagster_port or settings.dagster_port,
                         datasette_port or settings.datasette_port,
                         collector_port or settings.collector_port)
    started: dict[str, str] = {}
    try:
        if redis and config.uses_embedded_redis():
            services.start_redis()
            started["redis"] = f"unix://{config.redis_socket()}"
        elif redis:
            started["redis"] = f"{config.redis_url()} (external, not started)"
        from blueplane_pipeline.storage.db import open_db

        open_db(config.db_path()).close()  # schema exists before any reader starts
        for spec in services.selected(groups, dagster=dagster, datasette=datasette,
                                      collector=collector):
            if spec.port_kind and not services.read_pid(spec.name):
                (config.run_dir() / f"{spec.port_kind}.port").write_text(
                    str(at.port(spec.port_kind)))
            svc = spec.build(at)
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
        click.echo(f"Dagster UI: {started['dagster-webserver']}   (stop everything: "
                   "blueplane down; only the UIs: blueplane ui --stop)")
    elif "ui" not in groups:
        click.echo("UIs on demand: blueplane ui   (stop everything: blueplane down)")


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@click.command()
def down() -> None:
    """Stop what `blueplane up` and `blueplane ui` started (and nothing else)."""
    from blueplane_pipeline.runtime import services

    names = [*reversed(services.service_names()), *services.RETIRED]
    stopped = [name for name in names if services.stop(name, timeout=40.0)]
    if services.stop_redis():
        stopped.append("redis")
    click.echo("stopped: " + ", ".join(stopped) if stopped else "nothing was running")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Services and what each costs (RSS, CPU-seconds since start), stream lag, pending
    and dead letters, spool, storage, secrets redacted before storage (per rule), last
    ingest."""
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
        cost = svc.get("cost")
        if cost:
            pct = "-" if cost["cpu_pct"] is None else f"{cost['cpu_pct']:.2f} %"
            extra = (f"{cost['rss_mb']:6.0f} MB  {cost['cpu_s']:8.1f} CPU-s in "
                     f"{_age(cost['uptime_s'])} ({pct} of a core)  {extra}")
        elif not svc["up"] and svc.get("group") == "ui":
            extra = "on demand: blueplane ui"
        click.echo(f"  {name:18} {state:5} {extra}")
    total = info.get("cost")
    if total:
        click.echo(f"  {'total':18} {'':5} {total['rss_mb']:6.0f} MB  {total['cpu_s']:8.1f} "
                   f"CPU-s, {total['processes']} processes")
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
    red = st.get("redactions") or {}
    if red.get("total"):
        rules = ", ".join(f"{rule} {n}" for rule, n in red["by_rule"].items())
        click.echo(f"redacted: {red['total']} secret(s) before storage ({rules})")
    else:
        click.echo("redacted: nothing yet")
    last = st.get("last_ingest")
    if last:
        click.echo(f"last ingest: {last['finished_at']} ({last['trigger']}): "
                   f"{last['events_stored']} stored, {last['events_per_s']} ev/s, "
                   f"batch p50 {_ms(last['batch_p50_ms'])} p95 {_ms(last['batch_p95_ms'])}")
    else:
        click.echo("last ingest: never")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} ms"
