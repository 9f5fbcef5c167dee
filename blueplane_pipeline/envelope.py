"""The event envelope every source produces (stream field ``e``).

Standard library only: the hook builds envelopes on the assistant's critical path.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

VERSION = 1
PLATFORMS = ("claude_code", "cursor", "otel", "mcp")
SOURCES = ("hook", "transcript", "cursor_db", "otlp", "mcp")
# Namespace for deterministic ids (transcript lines, Cursor rows): re-imports store nothing twice.
ID_NAMESPACE = uuid.UUID("6f6d2a4e-3c55-4d7b-9a0e-b1e7a1a5c0de")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deterministic_id(*parts: str) -> str:
    """A stable uuid for an event identified by its source coordinates."""
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts)))


def content_id(data: bytes) -> str:
    """A stable uuid for an event identified only by its bytes."""
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
) -> dict:
    now = captured_at or utc_now()
    return {
        "v": VERSION,
        "event_id": event_id or str(uuid.uuid4()),
        "platform": platform,
        "source": source,
        "event_type": event_type or "unknown",
        "session_id": session_id,
        "ts": ts or now,
        "captured_at": now,
        "payload": payload,
    }


def dumps(envelope: dict) -> bytes:
    """Compact, single-line JSON (no raw newlines, so blocks can be newline-joined)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
