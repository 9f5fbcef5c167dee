"""Events of blueplane-mcp's tracking tools (platform ``mcp``) -> facts.

Decisions and outcomes the assistant logs are shown in the turn timeline where they happened.
"""

from __future__ import annotations

from blueplane_pipeline.analytics import classify
from blueplane_pipeline.analytics.facts import TEXT_KEEP, Fact


def facts(ts: int, seq: int, source: str, etype: str, p: dict, base: Fact,
          out: list[Fact]) -> None:
    if etype not in ("decision", "outcome"):
        return
    text, _ = classify.text_of(p.get("decision") or p.get("notes"))
    out.append(Fact(ts, seq, etype, source, base.key, data={
        "text": text[:TEXT_KEEP] if text else None, "outcome": p.get("outcome"),
        "decision_id": p.get("decision_id")}))
