"""The event envelope every source produces (stream field ``e``).

Standard library only: the hook builds envelopes on the assistant's critical path.
"""

from __future__ import annotations

import json
import os

from blueplane_pipeline.core.times import utc_now

# ``uuid``, ``hashlib`` and ``datetime`` are imported where used: together they cost the hook
# (one process per event) several milliseconds it does not need.

VERSION = 1
PLATFORMS = ("claude_code", "cursor", "otel", "mcp")
SOURCES = ("hook", "transcript", "cursor_db", "otlp", "mcp", "statusline")
# Namespace for deterministic ids (transcript lines, Cursor rows): re-imports store nothing twice.
ID_NAMESPACE = "6f6d2a4e-3c55-4d7b-9a0e-b1e7a1a5c0de"


def random_id() -> str:
    """A random (version 4) uuid, formatted without importing ``uuid``."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def deterministic_id(*parts: str) -> str:
    """A stable uuid for an event identified by its source coordinates."""
    import uuid

    return str(uuid.uuid5(uuid.UUID(ID_NAMESPACE), "\x1f".join(parts)))


def content_id(data: bytes) -> str:
    """A stable uuid for an event identified only by its bytes."""
    import hashlib
    import uuid

    return str(uuid.UUID(bytes=hashlib.blake2b(data, digest_size=16).digest()))


def make_envelope(
    platform: str,
    source: str,
    event_type: str,
    payload: object,
    *,
    session_id: str | None = None,
    ts: str | None = None,
    event_id: str | None = None,
    captured_at: str | None = None,
    redactions: dict[str, int] | None = None,
) -> dict:
    """``redactions``: how many secrets each redaction rule replaced in ``payload``
    (``core.redaction``); kept in the envelope only when some were, and summed by ingest
    into ``redaction_counts``."""
    now = captured_at or utc_now()
    envelope = {
        "v": VERSION,
        "event_id": event_id or random_id(),
        "platform": platform,
        "source": source,
        "event_type": event_type or "unknown",
        "session_id": session_id,
        "ts": ts or now,
        "captured_at": now,
        "payload": payload,
    }
    if redactions:
        envelope["redactions"] = redactions
    return envelope


def dumps(envelope: dict) -> bytes:
    """Compact, single-line JSON (no raw newlines, so blocks can be newline-joined)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
