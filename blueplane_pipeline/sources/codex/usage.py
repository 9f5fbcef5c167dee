"""Codex token usage: one record per model response, from the ``_bp.usage`` the rollout
reader wrote (``sources.codex.rollouts``), in ccusage's convention: input excludes cached
input, cached input is a cache read, output includes reasoning (billed once), reasoning is
reported beside it. Records merge on the response's key (its Responses API id, or thread +
running total in older rollouts), so a response copied into a resumed file counts once.
"""

from __future__ import annotations

from blueplane_pipeline.sources.jsonl import annotated_usage
from blueplane_pipeline.usage.records import UsageRecord

USAGE_EVENT_TYPES = ("token_usage_record", "token_count")


def usage_record(seq: int, envelope: dict) -> UsageRecord | None:
    found = annotated_usage(envelope, "rollout")
    if found is None:
        return None
    payload, bp, usage, ts_ms = found
    inp = int(usage.get("input_tokens") or 0)
    cached = min(int(usage.get("cached_input_tokens") or 0), inp)
    file = payload.get("_file") if isinstance(payload.get("_file"), str) else ""
    session = payload.get("_session") if isinstance(payload.get("_session"), str) else ""
    key = bp.get("key") if isinstance(bp.get("key"), str) else None
    model = bp.get("model") if isinstance(bp.get("model"), str) else None
    return UsageRecord(
        message_id=key,
        request_id=None,
        # the analytics session is the thread; ccusage's session (the rollout's path under
        # sessions/) is kept as the project, which Codex has none of
        session_id=envelope.get("session_id") or session or "unknown",
        line_session_id=bp.get("thread") if isinstance(bp.get("thread"), str) else None,
        project=session or "unknown",
        model=model,
        ts_ms=ts_ms,
        input_tokens=inp - cached,
        output_tokens=int(usage.get("output_tokens") or 0),
        cache_creation_5m=0,
        cache_creation_1h=0,
        cache_read_tokens=cached,
        cost_usd_log=None,
        is_sidechain=False,
        source_file=file,
        source_line=int(payload.get("_line") or 0),
        seq=seq,
        platform="codex",
        reasoning_tokens=int(usage.get("reasoning_output_tokens") or 0),
        speed="fast" if bp.get("speed") == "fast" else None,
    )
