"""Envelopes built from the real hook payloads, shared by the storage and ingest tests."""

from __future__ import annotations

import uuid

from blueplane_pipeline.core.envelope import dumps, make_envelope
from tests.conftest import load_hook_payloads


def hook_envelopes(copies: int = 1, *, seed: int = 0) -> list[dict]:
    """Every real hook payload as an envelope, ``copies`` times under fresh event and
    session ids (so copies are distinct events, as repeated sessions would be)."""
    payloads = load_hook_payloads()
    out: list[dict] = []
    for copy in range(copies):
        sessions: dict[object, str] = {}
        for i, payload in enumerate(payloads):
            sid = payload.get("session_id")
            if copy:
                sid = sessions.setdefault(sid, str(uuid.UUID(int=seed * 10**6 + copy * 10**4 + i)))
            event_type = payload.get("hook_event_name") or "unknown"
            out.append(make_envelope(
                "claude_code", "hook", event_type, {**payload, "session_id": sid},
                session_id=sid, event_id=str(uuid.UUID(int=(seed << 64) + copy * 10**5 + i + 1)),
                ts=f"2025-09-07T19:{(copy + i) // 60 % 60:02d}:{(copy + i) % 60:02d}.000Z",
            ))
    return out


def lines(envs: list[dict]) -> list[bytes]:
    return [dumps(env) for env in envs]
