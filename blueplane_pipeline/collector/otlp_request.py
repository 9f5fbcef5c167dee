"""What the collector accepts on ``/v1/{logs,metrics,traces}``, and the envelope it stores.

The OTLP/HTTP rules (opentelemetry-proto ``docs/specification.md``): ``application/json`` or
``application/x-protobuf``, optionally gzip-compressed; an undecodable body is a 400 the
client must not retry. The request path does not decode the export into records: it checks
that the body *is* one (JSON parses to an object; protobuf is well-formed wire data whose
top level holds only field 1 messages) and stores it whole. The envelope's ``event_id`` is
derived from the signal and the decompressed bytes, so the identical body sent again (a
retry after a 503, or after the collector died before answering) is stored once.

Standard library only.
"""

from __future__ import annotations

import base64
import json
import zlib

from blueplane_pipeline.core.envelope import content_id, make_envelope

SIGNALS = {"/v1/logs": "logs", "/v1/metrics": "metrics", "/v1/traces": "traces"}
# The export request's one field, per signal (OTLP/JSON names).
RESOURCE_KEYS = {"logs": "resourceLogs", "metrics": "resourceMetrics", "traces": "resourceSpans"}
JSON_TYPE = "application/json"
PROTOBUF_TYPE = "application/x-protobuf"
# Claude Code's largest batch seen is 42 KB; a body (or what it inflates to) past this is
# refused with 413 rather than held in memory.
MAX_BODY_BYTES = 8 * 1024 * 1024


class Refused(Exception):
    """A request the collector does not store: ``status`` is the HTTP answer (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def inflate(body: bytes, content_encoding: str | None) -> bytes:
    """The body without its ``Content-Encoding`` (gzip or none), within ``MAX_BODY_BYTES``."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise Refused(415, f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise Refused(400, f"body is not valid gzip: {exc}") from None
    if len(out) > MAX_BODY_BYTES:
        raise Refused(413, f"body inflates past {MAX_BODY_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise Refused(400, "body is truncated or trailing gzip data")
    return out


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    n = len(data)
    while True:
        if i >= n or shift > 63:
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def wire_fields(data: bytes) -> list[tuple[int, int, int, int]]:
    """The fields of one protobuf message as (number, wire type, start, end) of their values;
    ``ValueError`` if the bytes are not well-formed wire data."""
    out = []
    i, n = 0, len(data)
    while i < n:
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        start = i
        if wire == 0:
            _, i = _read_varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = _read_varint(data, i)
            start = i
            i += length
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire}")
        if i > n:
            raise ValueError("truncated field")
        out.append((number, wire, start, i))
    return out


def check_protobuf(data: bytes) -> None:
    """An Export*ServiceRequest: only field 1 (the resource entries) at the top, each a
    well-formed message itself. Cheap, and rejects garbage and truncation."""
    try:
        for number, wire, start, end in wire_fields(data):
            if number != 1 or wire != 2:
                raise ValueError(f"unexpected top-level field {number} (wire type {wire})")
            wire_fields(data[start:end])
    except ValueError as exc:
        raise Refused(400, f"body is not an OTLP protobuf export: {exc}") from None


def _loads(data: bytes) -> object:
    """orjson where installed (the package depends on it; ~5x the standard library on a
    42 KB export), else ``json``."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None


def dumps(envelope: dict) -> bytes:
    try:
        import orjson
    except ImportError:  # pragma: no cover
        from blueplane_pipeline.core.envelope import dumps as std_dumps

        return std_dumps(envelope)
    return orjson.dumps(envelope)


def check_json(data: bytes, signal: str) -> dict:
    try:
        doc = _loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Refused(400, f"body is not JSON: {exc}"[:300]) from None
    if not isinstance(doc, dict):
        raise Refused(400, "body is not a JSON object")
    entries = doc.get(RESOURCE_KEYS[signal], [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise Refused(400, f"{RESOURCE_KEYS[signal]} must be a list of objects")
    return doc


def otlp_envelope(
    path: str,
    content_type: str | None,
    content_encoding: str | None,
    body: bytes,
    user_agent: str | None = None,
    privacy_mode: str = "full",
) -> dict | None:
    """The envelope to store for one export, ``None`` for an empty export (nothing to
    store, still a 200), or ``Refused``. A JSON logs export's text attributes pass the
    privacy filter of ``privacy_mode`` here (``payload["privacy"]`` says so); protobuf
    ones when ingest decodes them. The event id is the received bytes', so a retry of the
    same body is still recognised."""
    signal = SIGNALS.get(path)
    if signal is None:
        raise Refused(
            404, f"no such OTLP endpoint {path!r} (use /v1/logs, /v1/metrics, /v1/traces)"
        )
    kind = media_type(content_type)
    if kind not in (JSON_TYPE, PROTOBUF_TYPE):
        raise Refused(
            415, f"unsupported Content-Type {kind or 'none'!r} (use {JSON_TYPE} or {PROTOBUF_TYPE})"
        )
    data = inflate(body, content_encoding)
    payload: dict = {
        "signal": signal,
        "content_type": kind,
        "bytes": len(data),
        "user_agent": user_agent,
    }
    if kind == JSON_TYPE:
        doc = check_json(data, signal)
        if not doc.get(RESOURCE_KEYS[signal]):
            return None
        payload["encoding"] = "json"
        if signal == "logs" and privacy_mode != "full":
            from blueplane_pipeline.core.otlp_privacy import filter_logs_export, may_hold_text

            if may_hold_text(data):
                filter_logs_export(doc, privacy_mode)
            payload["privacy"] = privacy_mode
        payload["body"] = doc
    else:
        check_protobuf(data)
        if not data:
            return None
        payload["encoding"] = "protobuf"
        payload["body_b64"] = base64.b64encode(data).decode("ascii")
    return make_envelope(
        "otel", "otlp", signal, payload, event_id=content_id(signal.encode() + b"\0" + data)
    )


def error_body(kind: str, status: int, message: str) -> bytes:
    """A ``google.rpc.Status`` in the request's encoding (what OTLP error replies carry)."""
    code = {400: 3, 401: 16, 404: 5, 413: 8, 415: 3, 503: 14}.get(status, 2)
    if kind == PROTOBUF_TYPE:
        text = message.encode()[:2000]
        return bytes([0x08, code, 0x12]) + _encode_varint(len(text)) + text
    return json.dumps({"code": code, "message": message}).encode()


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
