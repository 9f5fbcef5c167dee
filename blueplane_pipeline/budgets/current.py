"""The budgets' states right now, for readers (``watch``, ``status``, the MCP server): from
``budgets.json`` and ``run/spend.json`` alone, no database. Standard library only."""

from __future__ import annotations

import json
import time


def current_states(now_ms: int | None = None) -> dict | None:
    """``{"budgets": [state, …], "paused_until_ms", "spend_as_of_ms"}``, or None when no
    budget is set."""
    from blueplane_pipeline.budgets import evaluate, store
    from blueplane_pipeline.core import config

    doc = store.load(config.budgets_path_str())
    if not doc["budgets"]:
        return None
    try:
        with open(config.spend_path_str()) as fh:
            spend = json.load(fh)
    except (OSError, ValueError):
        spend = {}
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return {
        "budgets": evaluate.evaluate(doc, spend, now_ms),
        "paused_until_ms": doc.get("paused_until_ms") or 0,
        "spend_as_of_ms": spend.get("generated_at_ms"),
    }


def summary_line(current: dict) -> str:
    """``daily 84 % (warn) · monthly 40 %`` — one line for status and watch."""
    parts = []
    for s in current["budgets"]:
        label = s["period"] + (f" {s['project']}" if s["project"] else "")
        flag = {"warn": " ⚠", "over": " over"}.get(s["level"], "")
        cap = " · tool calls refused" if s["denies"] else ""
        parts.append(
            f"{label} ${s['spent']:.2f}/${s['amount']:.2f} ({s['ratio'] * 100:.0f} %){flag}{cap}"
        )
    return " · ".join(parts)
