"""Stored OTLP exports -> ``otel_log_events``, ``api_requests``, ``tool_decisions``,
``otel_metric_points``, then the per-session daily totals (``daily``).

``refresh`` reads the exports that arrived since its ``raw_events`` seq watermark, in seq
windows, one transaction each (rows and watermark together). Every insert is ``ON CONFLICT
DO NOTHING`` on the natural key, so an export stored twice (two captures of one batch, a
retry that got a new envelope) changes nothing. Text attributes pass the same privacy
filter as hooks (``core.otlp_privacy``), once: at the collector for JSON exports, here for
protobuf ones.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

import orjson

from blueplane_pipeline.core.otlp_privacy import filter_attributes
from blueplane_pipeline.core.times import iso_ms
from blueplane_pipeline.sources.otel.export import UndecodableExport, export_document
from blueplane_pipeline.sources.otel.records import (
    LogEvent,
    MetricPoint,
    log_events,
    metric_points,
    to_float,
    to_int,
)
from blueplane_pipeline.storage.db import write_transaction
from blueplane_pipeline.storage.reader import iter_events, max_seq

WINDOW_EVENTS = 20_000
# ``tool_decision`` sources that are a person's choice, not configuration or a hook.
USER_SOURCES_PREFIX = "user"


@dataclass
class OtelRefresh:
    exports_read: int = 0
    undecodable: int = 0
    log_events: int = 0
    metric_points: int = 0
    new_log_events: int = 0
    new_metric_points: int = 0
    new_api_requests: int = 0
    new_tool_decisions: int = 0
    watermark_from: int = 0
    watermark_to: int = 0
    seconds: float = 0.0
    sessions: set[str] = field(default_factory=set, repr=False)


def get_state(conn: sqlite3.Connection, name: str, default: str = "") -> str:
    row = conn.execute("SELECT value FROM otel_state WHERE name = ?", (name,)).fetchone()
    return row[0] if row else default


def _set_state(conn: sqlite3.Connection, name: str, value: object) -> None:
    conn.execute(
        "INSERT INTO otel_state (name, value) VALUES (?, ?) ON CONFLICT (name)"
        " DO UPDATE SET value = excluded.value",
        (name, str(value)),
    )


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


_TS_CACHE: dict[int, str] = {}


def _ts(ms: int | None) -> str | None:
    """ISO time of ``ms``, memoised: a batch's events share milliseconds, and each row
    type asks again."""
    if ms is None:
        return None
    text = _TS_CACHE.get(ms)
    if text is None:
        if len(_TS_CACHE) > 4096:
            _TS_CACHE.clear()
        text = _TS_CACHE[ms] = iso_ms(ms)
    return text


def user_decided(source: object) -> bool:
    return isinstance(source, str) and source.startswith(USER_SOURCES_PREFIX)


def _log_row(e: LogEvent, raw_seq: int, mode: str) -> tuple:
    """``mode`` is the privacy mode still to apply ("full" when the collector already
    filtered the export)."""
    attrs = filter_attributes(e.attributes, mode)
    return (
        e.session_id,
        e.event_key,
        e.sequence,
        e.event_name,
        _ts(e.ts_ms),
        e.ts_ms,
        e.prompt_id,
        e.platform,
        e.service,
        _json(attrs),
        raw_seq,
    )


def _api_row(e: LogEvent) -> tuple:
    a = e.attributes
    cache_5m, cache_1h = (
        to_int(a.get("cache_creation_5m_tokens")),
        to_int(a.get("cache_creation_1h_tokens")),
    )
    request = a.get("request_id")
    return (
        e.session_id,
        e.event_key,
        e.sequence,
        e.prompt_id,
        str(request) if request else None,
        a.get("model"),
        to_int(a.get("input_tokens")) or 0,
        to_int(a.get("output_tokens")) or 0,
        to_int(a.get("cache_read_tokens")) or 0,
        to_int(a.get("cache_creation_tokens")) or 0,
        cache_5m,
        cache_1h,
        to_float(a.get("cost_usd")),
        to_float(a.get("duration_ms")),
        to_float(a.get("ttft_ms")),
        _ts(e.ts_ms),
        e.ts_ms,
        e.platform,
    )


# Codex 0.171 names its decisions ``approved``/``denied``… and its sources ``Config``/``User``.
_DECISIONS = {
    "approved": "accept",
    "approved_for_session": "accept",
    "denied": "reject",
    "abort": "reject",
}


def _decision_row(e: LogEvent) -> tuple:
    a = e.attributes
    decision = a.get("decision")
    decision = _DECISIONS.get(decision, decision) if isinstance(decision, str) else decision
    source = a.get("source")
    source = source.lower() if isinstance(source, str) and e.platform == "codex" else source
    return (
        e.session_id,
        e.event_key,
        e.sequence,
        e.prompt_id,
        a.get("tool_use_id") or a.get("call_id"),
        a.get("tool_name"),
        decision,
        source,
        int(user_decided(source)),
        _ts(e.ts_ms),
        e.ts_ms,
        e.platform,
    )


def is_codex_usage(e: LogEvent) -> bool:
    """Codex reports a response's tokens on a ``codex.sse_event`` of kind
    ``response.completed`` (the one of the two that carries ``input_token_count``)."""
    return (
        e.event_name == "sse_event"
        and e.attributes.get("event.kind") == "response.completed"
        and "input_token_count" in e.attributes
    )


def _codex_api_row(e: LogEvent) -> tuple:
    """Codex's counts in the table's terms: its input includes the cached tokens and its
    output the reasoning tokens; here input is the uncached part, as Claude Code's is."""
    a = e.attributes
    total_in = to_int(a.get("input_token_count")) or 0
    cached = to_int(a.get("cached_token_count")) or 0
    return (
        e.session_id,
        e.event_key,
        e.sequence,
        e.prompt_id,
        None,
        a.get("model"),
        total_in - cached,
        to_int(a.get("output_token_count")) or 0,
        cached,
        to_int(a.get("cache_write_token_count")) or 0,
        None,
        None,
        to_float(a.get("cost_usd")),
        to_float(a.get("duration_ms")),
        to_float(a.get("ttft_ms")),
        _ts(e.ts_ms),
        e.ts_ms,
        e.platform,
    )


def _point_row(p: MetricPoint, raw_seq: int) -> tuple:
    return (
        p.metric,
        p.series,
        p.start_ns,
        p.time_ns,
        p.temporality,
        p.value,
        p.session_id,
        p.platform,
        _json(p.attributes),
        raw_seq,
    )


_INSERT_LOG = (
    "INSERT INTO otel_log_events (session_id, event_key, sequence,"
    " event_name, ts, ts_ms, prompt_id, platform, service, attributes, raw_seq)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT DO NOTHING"
)
_INSERT_API = (
    "INSERT INTO api_requests (session_id, event_key, sequence, prompt_id,"
    " request_id, model, input_tokens, output_tokens, cache_read_tokens,"
    " cache_creation_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,"
    " cost_usd, duration_ms, ttft_ms, ts, ts_ms, platform)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT DO NOTHING"
)
_INSERT_DECISION = (
    "INSERT INTO tool_decisions (session_id, event_key, sequence,"
    " prompt_id, tool_use_id, tool_name, decision, source, user_decided, ts,"
    " ts_ms, platform) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT DO NOTHING"
)
_INSERT_POINT = (
    "INSERT INTO otel_metric_points (metric, series, start_ns, time_ns,"
    " temporality, value, session_id, platform, attributes, raw_seq)"
    " VALUES (?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT DO NOTHING"
)


def store_window(conn: sqlite3.Connection, lo: int, hi: int, mode: str, stats: OtelRefresh) -> None:
    """Decode and insert the exports with ``lo < seq <= hi`` (inside the caller's
    transaction)."""
    logs: list[tuple] = []
    apis: list[tuple] = []
    decisions: list[tuple] = []
    points: list[tuple] = []
    for event in iter_events(conn, platform="otel", since_seq=lo, until_seq=hi):
        stats.exports_read += 1
        payload = event.payload if isinstance(event.payload, dict) else {}
        try:
            doc = export_document(payload)
        except UndecodableExport:
            stats.undecodable += 1
            continue
        todo = "full" if payload.get("privacy") else mode  # filtered once, at the collector
        for e in log_events(doc):
            logs.append(_log_row(e, event.seq, todo))
            if is_codex_usage(e):
                apis.append(_codex_api_row(e))
            elif e.event_name == "api_request" and e.platform != "codex":
                apis.append(_api_row(e))
            elif e.event_name == "tool_decision":
                decisions.append(_decision_row(e))
            stats.sessions.add(e.session_id)
        for p in metric_points(doc):
            points.append(_point_row(p, event.seq))
            if p.session_id:
                stats.sessions.add(p.session_id)
    before = conn.total_changes
    conn.executemany(_INSERT_LOG, logs)
    stats.new_log_events += conn.total_changes - before
    before = conn.total_changes
    conn.executemany(_INSERT_API, apis)
    stats.new_api_requests += conn.total_changes - before
    before = conn.total_changes
    conn.executemany(_INSERT_DECISION, decisions)
    stats.new_tool_decisions += conn.total_changes - before
    before = conn.total_changes
    conn.executemany(_INSERT_POINT, points)
    stats.new_metric_points += conn.total_changes - before
    stats.log_events += len(logs)
    stats.metric_points += len(points)


def refresh(
    conn: sqlite3.Connection, mode: str | None = None, window: int = WINDOW_EVENTS
) -> OtelRefresh:
    """Bring the OTel tables up to date with ``raw_events`` (and the daily totals of every
    session that got new points). ``mode``: the privacy mode (default: the configured one)."""
    from blueplane_pipeline.core import config
    from blueplane_pipeline.sources.otel.daily import rebuild_sessions

    mode = mode or config.load_settings().privacy_mode

    started = time.perf_counter()
    stats = OtelRefresh()
    lo = int(get_state(conn, "raw_seq", "0"))
    top = max_seq(conn)
    stats.watermark_from, stats.watermark_to = lo, top
    while lo < top:
        hi = min(lo + window, top)
        with write_transaction(conn):
            window_stats = OtelRefresh()
            store_window(conn, lo, hi, mode, window_stats)
            rebuild_sessions(conn, window_stats.sessions)
            _queue_days(conn, window_stats.sessions)
            _set_state(conn, "raw_seq", hi)
        for name in (
            "exports_read",
            "undecodable",
            "log_events",
            "metric_points",
            "new_log_events",
            "new_metric_points",
            "new_api_requests",
            "new_tool_decisions",
        ):
            setattr(stats, name, getattr(stats, name) + getattr(window_stats, name))
        stats.sessions |= window_stats.sessions
        lo = hi
    stats.seconds = time.perf_counter() - started
    return stats


def _queue_days(conn: sqlite3.Connection, sessions: set[str]) -> None:
    """Queue the days these sessions' OTel rows are on for the analytics rollups."""
    from blueplane_pipeline.analytics import state
    from blueplane_pipeline.analytics.otel_join import otel_days

    state.mark_days(conn, otel_days(conn, sessions))
