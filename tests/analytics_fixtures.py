"""Building stored events for the analytics tests, following the capture contracts.

- hook events: platform/source/event_type = hook_event_name, payload = the hook's stdin
  after the privacy filter (what ``blueplane-hook`` sends);
- transcript events: event_type = the line's ``type``, session_id = ``sessionId`` (else the
  file's stem), ts = ``timestamp``, payload = the filtered line plus ``_file``/``_line``,
  event_id = deterministic_id("claude_transcript", uuid) (the importer's contract).
Events are written with the real writer into a real SQLite file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from blueplane_pipeline.core.envelope import content_id, deterministic_id, dumps, make_envelope
from blueplane_pipeline.core.privacy import filter_payload
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise


def transcript_envelopes(path: Path, mode: str = "standard") -> list[dict]:
    out = []
    for lineno, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        line = json.loads(raw)
        payload = filter_payload(line, mode)
        payload["_file"] = f"{path.parent.name}/{path.name}"
        payload["_line"] = lineno
        uid = line.get("uuid")
        out.append(make_envelope(
            "claude_code", "transcript", line.get("type") or "unknown", payload,
            session_id=line.get("sessionId") or path.stem,
            ts=line.get("timestamp") or "2025-01-01T00:00:00.000Z",
            event_id=deterministic_id("claude_transcript", uid) if uid else content_id(raw)))
    return out


def line_envelopes(lines: list[dict], mode: str = "standard",
                   file: str = "proj/session.jsonl") -> list[dict]:
    """Envelopes for hand-built transcript lines (same contract as the files above)."""
    out = []
    for lineno, line in enumerate(lines, start=1):
        payload = filter_payload(line, mode)
        payload["_file"], payload["_line"] = file, lineno
        out.append(make_envelope(
            "claude_code", "transcript", line["type"], payload,
            session_id=line.get("sessionId") or Path(file).stem, ts=line.get("timestamp"),
            event_id=deterministic_id("claude_transcript", line["uuid"])))
    return out


def hook_envelope(payload: dict, ts: str, mode: str = "standard",
                  platform: str = "claude_code") -> dict:
    session = payload.get("session_id") or payload.get("conversation_id")
    return make_envelope(platform, "hook", payload.get("hook_event_name") or "unknown",
                         filter_payload(payload, mode), session_id=session, ts=ts)


def spaced(start: str, n: int, step_s: float = 1.0) -> list[str]:
    """``n`` ISO times ``step_s`` apart (hook logs without times of their own)."""
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return [(t0 + timedelta(seconds=i * step_s)).astimezone(UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z") for i in range(n)]


def store(db_path: Path, envelopes: list[dict]):
    """Write envelopes with the real raw-event writer; returns the open connection."""
    conn = open_db(db_path)
    RawEventWriter(conn).write([normalise(dumps(e)) for e in envelopes])
    return conn


def rows(conn, sql: str, *params) -> list[dict]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
