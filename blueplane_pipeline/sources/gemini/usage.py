"""Gemini CLI token usage: one record per gemini message (its two copies merge on
(session, message id)), in ccusage's convention: input excludes cached input, cached is
a cache read, output is the candidates; thoughts are not output but are billed at the
output price and counted in the total (``thoughts_tokens``; stored as the part of
``token_usage.total_tokens`` the four counts do not hold).
"""

from __future__ import annotations

from blueplane_pipeline.sources.jsonl import annotated_usage
from blueplane_pipeline.usage.records import UsageRecord

USAGE_EVENT_TYPES = ("gemini",)


def usage_record(seq: int, envelope: dict) -> UsageRecord | None:
    found = annotated_usage(envelope, "session")
    if found is None:
        return None
    payload, bp, usage, ts_ms = found
    inp = int(usage.get("input") or 0)
    cached = min(int(usage.get("cached") or 0), inp)
    session = envelope.get("session_id") or "unknown"
    project = payload.get("_project") if isinstance(payload.get("_project"), str) else ""
    return UsageRecord(
        message_id=bp.get("key") if isinstance(bp.get("key"), str) else None,
        request_id=None,
        session_id=session,
        line_session_id=session,
        project=project or "unknown",
        model=bp.get("model") if isinstance(bp.get("model"), str) else None,
        ts_ms=ts_ms,
        input_tokens=inp - cached,
        output_tokens=int(usage.get("output") or 0),
        cache_creation_5m=0,
        cache_creation_1h=0,
        cache_read_tokens=cached,
        cost_usd_log=None,
        is_sidechain=False,
        source_file=payload.get("_file") if isinstance(payload.get("_file"), str) else "",
        source_line=int(payload.get("_line") or 0),
        seq=seq,
        platform="gemini",
        thoughts_tokens=int(usage.get("thoughts") or 0),
    )
