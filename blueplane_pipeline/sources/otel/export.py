"""A stored OTLP export -> its OTLP/JSON document (``resourceLogs`` / ``resourceMetrics``).

Protobuf bodies are decoded with opentelemetry-proto, imported on the first protobuf body
only (about 60 ms and 5 MB): JSON-only users never pay for it. ``MessageToDict`` with
integer enums gives the same camelCase shape as OTLP/JSON, except that 64-bit integers come
back as strings and ids as base64, which ``records`` copes with.
"""

from __future__ import annotations

import base64

_REQUESTS = {
    "logs": ("opentelemetry.proto.collector.logs.v1.logs_service_pb2", "ExportLogsServiceRequest"),
    "metrics": (
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
        "ExportMetricsServiceRequest",
    ),
    "traces": (
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        "ExportTraceServiceRequest",
    ),
}


class UndecodableExport(ValueError):
    """A stored export that cannot be read (it passed the collector's cheap check only)."""


def decode_protobuf(signal: str, data: bytes) -> dict:
    import importlib

    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError

    module, name = _REQUESTS[signal]
    request = getattr(importlib.import_module(module), name)()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise UndecodableExport(f"protobuf {signal} export: {exc}") from None
    return MessageToDict(request, use_integers_for_enums=True)


def encode_protobuf(signal: str, doc: dict) -> bytes:
    """The protobuf bytes of an OTLP/JSON document (tests and benchmarks send both)."""
    import importlib
    import json

    from google.protobuf.json_format import Parse

    module, name = _REQUESTS[signal]
    request = getattr(importlib.import_module(module), name)()
    return Parse(json.dumps(doc), request, ignore_unknown_fields=True).SerializeToString()


def export_document(payload: dict) -> dict:
    """The OTLP/JSON document of a stored export payload (see ``collector.otlp_request``)."""
    signal = payload.get("signal")
    if signal not in _REQUESTS:
        raise UndecodableExport(f"unknown OTLP signal {signal!r}")
    if payload.get("encoding") == "protobuf":
        try:
            data = base64.b64decode(payload.get("body_b64") or "", validate=True)
        except ValueError as exc:
            raise UndecodableExport(f"bad base64: {exc}") from None
        return decode_protobuf(signal, data)
    body = payload.get("body")
    if not isinstance(body, dict):
        raise UndecodableExport("JSON export body is not an object")
    return body
