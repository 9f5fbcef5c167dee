"""Tracking tools: decisions and their outcomes, written as events.

The server never writes ``telemetry.db``. A decision or an outcome becomes an envelope
(platform ``mcp``, source ``mcp``) sent to the Redis stream like a hook event, or to the
spool when Redis is down; ingest stores it with everything else. ``log_outcome`` names the
decision's ``event_id``, which is how the two join.
"""

from __future__ import annotations

import os
from typing import Literal

from mcp.server.mcpserver.exceptions import ToolError

from blueplane_pipeline.capture import resp, spool
from blueplane_pipeline.core import config
from blueplane_pipeline.core.envelope import dumps, make_envelope
from blueplane_pipeline.core.privacy import filter_payload
from mcp_server.models import TrackedEvent

REDIS_TIMEOUT_S = 2.0
MAX_TEXT = 4000
MAX_ITEMS = 20  # options, tags, metrics
MAX_ITEM = 200  # characters of one option, tag or metric name
Outcome = Literal["success", "partial", "failure", "abandoned"]


def deliver(envelope: dict) -> Literal["stream", "spool"]:
    """XADD the envelope, or spool it when Redis cannot be reached (like the hook)."""
    line = dumps(envelope)
    try:
        resp.xadd(config.redis_url(), config.STREAM_KEY, "e", line, REDIS_TIMEOUT_S)
        return "stream"
    except (OSError, resp.RespError, ValueError):
        spool.write(config.spool_dir(), [line])
        return "spool"


def _text(name: str, value: str | None, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise ToolError(f"{name} is empty")
        return None
    if len(value) > MAX_TEXT:
        raise ToolError(f"{name} is {len(value)} characters; keep it under {MAX_TEXT}")
    return value.strip()


def _items(name: str, values: list[str] | None) -> list[str]:
    """A short list of short strings, or a ToolError saying which limit was passed."""
    items = [v.strip() for v in (values or []) if v and v.strip()]
    if len(items) > MAX_ITEMS:
        raise ToolError(f"{name} has {len(items)} entries; give at most {MAX_ITEMS}")
    long = next((v for v in items if len(v) > MAX_ITEM), None)
    if long is not None:
        raise ToolError(f"an entry of {name} is {len(long)} characters; keep each under "
                        f"{MAX_ITEM}")
    return items


def _metrics(values: dict[str, float] | None) -> dict[str, float]:
    """Finite numbers under short names (NaN and infinities cannot be stored as JSON)."""
    import math

    values = values or {}
    if len(values) > MAX_ITEMS:
        raise ToolError(f"metrics has {len(values)} entries; give at most {MAX_ITEMS}")
    for key, value in values.items():
        if len(key) > MAX_ITEM:
            raise ToolError(f"metric name {key[:40]!r}… is too long (max {MAX_ITEM})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ToolError(f"metric {key!r} is {value!r}: give a finite number")
    return dict(values)


def _send(event_type: Literal["decision", "outcome"], payload: dict,
          session_id: str | None) -> TrackedEvent:
    payload = {k: v for k, v in payload.items() if v not in (None, [], {})}
    payload["cwd"] = os.getcwd()
    mode = config.load_settings().privacy_mode
    envelope = make_envelope("mcp", "mcp", event_type,
                             filter_payload(payload, mode, payload["cwd"]),
                             session_id=session_id or None)
    where = deliver(envelope)
    return TrackedEvent(event_id=envelope["event_id"], event_type=event_type,
                        session_id=session_id or None, delivered_to=where)


def track_decision(decision: str, session_id: str | None = None, context: str | None = None,
                   options: list[str] | None = None, rationale: str | None = None,
                   tags: list[str] | None = None) -> TrackedEvent:
    """Record a decision (what was chosen, among which options, why) as a telemetry event.
    Pass the assistant session id to attach it to that session. Returns the event id to
    quote in log_outcome."""
    return _send("decision", {
        "decision": _text("decision", decision, required=True),
        "context": _text("context", context), "options": _items("options", options),
        "rationale": _text("rationale", rationale), "tags": _items("tags", tags),
    }, session_id)


def log_outcome(outcome: Outcome, decision_id: str | None = None,
                session_id: str | None = None, notes: str | None = None,
                metrics: dict[str, float] | None = None) -> TrackedEvent:
    """Record how something turned out (success, partial, failure, abandoned), optionally
    for a decision (its event id from track_decision) and with numbers worth keeping."""
    if decision_id is not None:
        import uuid

        try:
            decision_id = str(uuid.UUID(decision_id.strip()))
        except ValueError:
            raise ToolError(f"decision_id {decision_id!r} is not an event id returned by "
                            "track_decision") from None
    return _send("outcome", {"outcome": outcome, "decision_id": decision_id,
                             "notes": _text("notes", notes), "metrics": _metrics(metrics)},
                 session_id)
