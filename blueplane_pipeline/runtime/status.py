"""What ``blueplane status`` reports: services, stream, spool, storage, last ingest."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.runtime import redis_server, services
from blueplane_pipeline.runtime.processes import cost


def collect() -> dict:
    settings = config.load_settings()
    out: dict = {"home": str(config.home()), "redis_url": config.redis_url(),
                 "privacy_mode": settings.privacy_mode, "services": {}}
    embedded = config.uses_embedded_redis()
    out["services"]["redis"] = {
        "up": redis_server.ping(),
        "kind": "embedded" if embedded else "external",
        "pid": redis_server.read_pid() if embedded else None,
    }
    for spec in services.SERVICES:
        pid = services.read_pid(spec.name)
        out["services"][spec.name] = {"up": pid is not None, "pid": pid, "group": spec.group}
        if pid is not None and spec.port_kind:
            out["services"][spec.name]["url"] = f"http://{settings.host}:{_port(spec.port_kind)}"
    out["cost"] = _costs(out["services"])
    if out["services"].get("collector", {}).get("up"):
        url = out["services"]["collector"].get("url") or (
            f"http://{settings.host}:{_port('collector')}")
        out["services"]["collector"]["url"] = url
        out["services"]["collector"]["health"] = collector_health(url)
    out["stream"] = _stream() if out["services"]["redis"]["up"] else None
    files = spool.pending_files(config.spool_dir())
    out["spool"] = {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
    out["storage"] = _storage()
    out["hook_errors"] = _line_count(config.logs_dir() / "hook-errors.log")
    out["stopped"] = stopped_instigators()
    out["warnings"] = warnings(out)
    return out


def collector_health(url: str) -> dict | None:
    """The running collector's own counters (``GET /health``), or None if it does not
    answer within half a second."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health", timeout=0.5) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError):
        return None


def collector_warnings(info: dict) -> list[str]:
    """HTTP hooks or the OTel export pointed at a collector that is not running lose every
    event they send (the CLI only logs ECONNREFUSED): say so loudly."""
    from blueplane_pipeline.capture import installers

    collector = info["services"].get("collector", {})
    out = []
    if collector.get("up"):
        refused = ((collector.get("health") or {}).get("stored") or {}).get("refused") or 0
        if refused:
            out.append(f"blueplane-collector answered 503 to {refused} request(s) since it "
                       "started: neither Redis nor the spool could store them (the exporters "
                       "retry; HTTP hook events were lost). Check the disk and Redis.")
    try:
        path = installers.settings_path("claude-code")
        doc, _ = installers.load_document(path)
    except (installers.SettingsError, ValueError, OSError):
        return out
    if collector.get("up"):
        where = collector.get("url") or ""
        targets = installers.http_hook_urls(doc) | {
            v for k, v in installers.added_env(doc).items()
            if k == "OTEL_EXPORTER_OTLP_ENDPOINT"}
        stray = sorted(t for t in targets if where and not t.startswith(where))
        if stray:
            out.append(f"{path} sends to {', '.join(stray)} but blueplane-collector listens "
                       f"on {where}: those events are lost. Reinstall (`blueplane install "
                       "claude-code` with the same options) after changing collector_port.")
        return out
    events = installers.http_events(doc)
    if events:
        out.append(f"HTTP hooks for {len(events)} Claude Code events are installed in {path} "
                   "but blueplane-collector is not running: those events are being LOST. "
                   "Start it with `blueplane up` (or reinstall with --transport command).")
    if installers.added_env(doc):
        out.append(f"Claude Code's OpenTelemetry export ({path}) points at blueplane-collector, "
                   "which is not running: its data is being lost. Start it with `blueplane up`.")
    return out


def _costs(found: dict) -> dict | None:
    """Each running service's RSS and CPU-seconds since start (with its children); the
    total over them. Nothing on systems without /proc."""
    total = {"rss_mb": 0.0, "cpu_s": 0.0, "processes": 0}
    for svc in found.values():
        c = cost(svc["pid"]) if svc.get("pid") else None
        if c is None:
            continue
        svc["cost"] = {"rss_mb": c.rss_mb, "cpu_s": c.cpu_s, "uptime_s": c.uptime_s,
                       "cpu_pct": c.cpu_pct, "processes": c.processes}
        total["rss_mb"] += c.rss_mb
        total["cpu_s"] += c.cpu_s
        total["processes"] += c.processes
    if not total["processes"]:
        return None
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in total.items()}


def stopped_instigators() -> list[dict]:
    """Sensors and schedules someone stopped (in the Dagster UI, or by a request that got
    past the guard): while one is stopped, that part of the pipeline does nothing.

    Read straight from Dagster's schedule storage (read-only; no Dagster import on this
    path): an instigator is stored only once its state differs from its default."""
    import json

    db = config.dagster_home() / "storage" / "schedules.db"
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            rows = conn.execute("SELECT job_type, job_body FROM jobs WHERE status = 'STOPPED'"
                                ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    out = []
    for kind, body in rows:
        try:
            name = json.loads(body)["origin"]["job_name"]
        except (ValueError, KeyError, TypeError):
            name = "?"
        out.append({"kind": str(kind).lower(), "name": name})
    return out


def warnings(info: dict) -> list[str]:
    """What `status` must say loudly: things that silently stop capture or leak data."""
    out = []
    problem = config.home_mode_problem()
    if problem:
        out.append(problem)
    out.extend(collector_warnings(info))
    for item in info.get("stopped", []):
        out.append(f"the {item['kind']} {item['name']} is stopped: start it again in the "
                   "Dagster UI (Automation), or nothing it drives will run")
    return out


def _line_count(path) -> int:
    """Captures the hook could not deliver even to the spool (they are logged, not lost
    silently); 0 when the log does not exist."""
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def _port(kind: str) -> int:
    try:
        return int((config.run_dir() / f"{kind}.port").read_text())
    except (OSError, ValueError):
        settings = config.load_settings()
        return {"dagster": settings.dagster_port, "collector": settings.collector_port
                }.get(kind, settings.datasette_port)


def _stream() -> dict | None:
    import redis

    from blueplane_pipeline.ingest import stream

    try:
        r = stream.client(timeout=2.0)
        s = stream.state(r)
        r.close()
    except (redis.RedisError, OSError) as exc:
        return {"error": str(exc)}
    return {"length": s.length, "lag": s.lag, "pending": s.pending, "dead_letters": s.dlq}


def _storage() -> dict:
    path = config.db_path()
    if not path.exists():
        return {"db": str(path), "exists": False}
    from blueplane_pipeline.storage.db import connect
    from blueplane_pipeline.storage.reader import redaction_totals, storage_totals

    try:
        conn = connect(path, readonly=True)
    except sqlite3.Error as exc:
        return {"db": str(path), "exists": True, "error": str(exc)}
    try:
        totals = storage_totals(conn)
        redacted = redaction_totals(conn)
        last = conn.execute(
            "SELECT finished_at, trigger, events_stored, events_per_s, batch_p50_ms,"
            " batch_p95_ms, lag_after FROM ingest_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:  # an older schema, or not a database at all
        return {"db": str(path), "exists": True,
                "error": f"cannot read {path.name} ({exc}): move it away or restore a backup"}
    finally:
        conn.close()
    ratio = totals["raw_bytes"] / totals["stored_bytes"] if totals["stored_bytes"] else None
    out = {"db": str(path), "exists": True, "db_bytes": path.stat().st_size,
           "raw_events": totals["events"], "raw_bytes": totals["raw_bytes"],
           "stored_bytes": totals["stored_bytes"],
           "compression_ratio": round(ratio, 2) if ratio else None, "last_ingest": None,
           "redactions": {"total": sum(redacted.values()), "by_rule": redacted}}
    if last:
        keys = ("finished_at", "trigger", "events_stored", "events_per_s", "batch_p50_ms",
                "batch_p95_ms", "lag_after")
        out["last_ingest"] = dict(zip(keys, last, strict=True))
    return out
