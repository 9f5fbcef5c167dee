"""OTLP/JSON documents -> flat log events and metric points, numbers coerced.

Pure functions. Claude Code 2.1.328 sends several numbers as strings (``tool_result``
sizes, ``prompt_length``, hook counters), 64-bit integers are strings in protobuf-decoded
documents, and a JSON exporter may write a whole double as ``1200``: every value is
normalised by its OTLP type, so the JSON and the protobuf form of one export give the same
rows. Identity: a log event is ``(session id, event.sequence)`` (the CLI numbers its events
0..N per session); a metric point is ``(metric, series, start, time)`` where the series is a
hash of the point's and its resource's attributes.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

# Columns of their own, so not repeated in a row's ``attributes``.
LOG_KEY_ATTRIBUTES = ("session.id", "event.sequence", "event.name", "event.timestamp", "prompt.id")
SESSION_KEYS = ("session.id", "conversation.id", "thread.id")
TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}
DELTA, CUMULATIVE = 1, 2


@dataclass(slots=True)
class LogEvent:
    session_id: str
    event_key: str
    sequence: int | None
    event_name: str
    ts_ms: int | None
    prompt_id: str | None
    platform: str
    service: str | None
    attributes: dict


@dataclass(slots=True)
class MetricPoint:
    metric: str
    series: str
    start_ns: int
    time_ns: int
    temporality: int
    value: float
    session_id: str | None
    platform: str
    attributes: dict


def to_int(value: object) -> int | None:
    """An integer from a number or a numeric string (``"12"``, ``"12.0"``); else ``None``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            number = to_float(value)
            return int(number) if number is not None else None
    return None


def to_float(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def any_value(value: object) -> object:
    """An OTLP ``AnyValue`` as a plain value of its declared type."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return to_int(value["intValue"])
    if "doubleValue" in value:
        return to_float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: object) -> dict:
    """``[{"key", "value": AnyValue}]`` -> ``{key: value}``. String and JSON-integer values
    (nearly all of them) are taken directly: this runs for every attribute of every record,
    ~25 per Claude Code event (subscripts, not ``.get``: a method call per lookup showed)."""
    out: dict = {}
    if not isinstance(items, list):
        return out
    for item in items:
        try:
            key = item["key"]
            value = item["value"]
        except (KeyError, TypeError, IndexError):
            if type(item) is dict and type(item.get("key")) is str:
                out[item["key"]] = None
            continue
        if type(key) is not str:
            continue
        if type(value) is dict:
            if "stringValue" in value:
                raw = value["stringValue"]
                if type(raw) is str:
                    out[key] = raw
                    continue
            elif "intValue" in value:
                raw = value["intValue"]
                if type(raw) is int:
                    out[key] = raw
                    continue
        out[key] = any_value(value)
    return out


def platform_of(resource: dict) -> str:
    """The assistant that sent an export, from its resource's ``service.name``."""
    service = str(resource.get("service.name") or "")
    if service.startswith("claude"):
        return "claude_code"
    if "codex" in service:
        return "codex"
    if "gemini" in service:
        return "gemini"
    return service or "otel"


def _session(attrs: dict, resource: dict) -> str | None:
    for key in SESSION_KEYS:
        value = attrs.get(key) or resource.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _event_ts_ms(record: dict, attrs: dict) -> int | None:
    for key in ("timeUnixNano", "observedTimeUnixNano"):
        ns = to_int(record.get(key))
        if ns:
            return ns // 1_000_000
    stamp = attrs.get("event.timestamp")
    if isinstance(stamp, str):
        from blueplane_pipeline.core.times import parse_ts_ms

        return parse_ts_ms(stamp)
    return None


def log_events(doc: dict) -> list[LogEvent]:
    out: list[LogEvent] = []
    for resource_logs in doc.get("resourceLogs") or []:
        resource = attributes((resource_logs.get("resource") or {}).get("attributes"))
        platform = platform_of(resource)
        for scope_logs in resource_logs.get("scopeLogs") or []:
            for record in scope_logs.get("logRecords") or []:
                attrs = attributes(record.get("attributes"))
                body = any_value(record.get("body"))
                name = attrs.get("event.name") or record.get("eventName") or body or "unknown"
                name = str(name).rsplit(".", 1)[-1] if "." in str(name) else str(name)
                sequence = to_int(attrs.get("event.sequence"))
                rest = {k: v for k, v in attrs.items() if k not in LOG_KEY_ATTRIBUTES}
                ts_ms = _event_ts_ms(record, attrs)
                key = (
                    str(sequence)
                    if sequence is not None
                    else "h:"
                    + hashlib.blake2b(
                        _canonical([name, ts_ms, rest]).encode(), digest_size=12
                    ).hexdigest()
                )
                prompt = attrs.get("prompt.id")
                out.append(
                    LogEvent(
                        session_id=_session(attrs, resource) or "",
                        event_key=key,
                        sequence=sequence,
                        event_name=name,
                        ts_ms=ts_ms,
                        prompt_id=str(prompt) if prompt not in (None, "") else None,
                        platform=platform,
                        service=resource.get("service.name"),
                        attributes=rest,
                    )
                )
    return out


def _point_value(point: dict) -> float | None:
    for key in ("asDouble", "asInt"):
        if key in point:
            return to_float(point[key])
    if "sum" in point:  # histogram points: their sum is what a total needs
        return to_float(point["sum"])
    return None


def metric_points(doc: dict) -> list[MetricPoint]:
    out: list[MetricPoint] = []
    for resource_metrics in doc.get("resourceMetrics") or []:
        resource = attributes((resource_metrics.get("resource") or {}).get("attributes"))
        platform = platform_of(resource)
        for scope_metrics in resource_metrics.get("scopeMetrics") or []:
            for metric in scope_metrics.get("metrics") or []:
                name = str(metric.get("name") or "unknown")
                for shape in ("sum", "gauge", "histogram"):
                    data = metric.get(shape)
                    if isinstance(data, dict):
                        break
                else:
                    continue
                temporality = to_int(data.get("aggregationTemporality")) or 0
                for point in data.get("dataPoints") or []:
                    value = _point_value(point)
                    if value is None:
                        continue
                    attrs = attributes(point.get("attributes"))
                    series = hashlib.blake2b(
                        _canonical([attrs, resource]).encode(), digest_size=12
                    ).hexdigest()
                    out.append(
                        MetricPoint(
                            metric=name,
                            series=series,
                            start_ns=to_int(point.get("startTimeUnixNano")) or 0,
                            time_ns=to_int(point.get("timeUnixNano")) or 0,
                            temporality=temporality if shape != "gauge" else 0,
                            value=value,
                            session_id=_session(attrs, resource),
                            platform=platform,
                            attributes=attrs,
                        )
                    )
    return out


def totals(points: list[MetricPoint]) -> dict[tuple[str, str], float]:
    """``{(metric, series): total}``: DELTA points summed; CUMULATIVE points take the value
    at the latest time per (series, start), summed across starts (a new start is a reset);
    gauges take their latest value."""
    increments = increments_of(points)
    out: dict[tuple[str, str], float] = {}
    for point, inc in increments:
        key = (point.metric, point.series)
        out[key] = out.get(key, 0.0) + inc
    return out


def increments_of(points: list[MetricPoint]) -> list[tuple[MetricPoint, float]]:
    """Each point with what it adds to its series' total (so totals can be split by day):
    a DELTA point adds its value; a CUMULATIVE point adds its rise over the previous point
    of the same (series, start); a gauge point replaces the previous one."""
    out: list[tuple[MetricPoint, float]] = []
    last: dict[tuple, float] = {}
    for p in sorted(points, key=lambda p: (p.metric, p.series, p.start_ns, p.time_ns)):
        if p.temporality == DELTA:
            out.append((p, p.value))
            continue
        key = (p.metric, p.series) if p.temporality == 0 else (p.metric, p.series, p.start_ns)
        previous = last.get(key, 0.0)
        last[key] = p.value
        out.append((p, p.value - previous))
    return out
