"""Metrics tools: the numbers of a period, of one session, of each tool."""

from __future__ import annotations

import json

from mcp.server.mcpserver.exceptions import ToolError

from blueplane_pipeline.read.otel import otel_of_session, otel_summary
from blueplane_pipeline.read.sessions import (
    newest_session_end,
    resolve_session,
    session_count,
    session_detail,
)
from blueplane_pipeline.read.summary import compare, summary
from blueplane_pipeline.read.tools import tool_names, tool_performance
from mcp_server.models import (
    BudgetState,
    CurrentMetrics,
    FailedCall,
    FileActivity,
    MetricChange,
    OtelMetrics,
    SessionMetrics,
    ToolPerformance,
    ToolStats,
    ToolUsage,
    TurnBrief,
)
from mcp_server.patterns import tool_sequence
from mcp_server.reading import Platform, filters, known_project, reading, window

COMPARED = ("sessions", "prompts", "tool_calls", "error_rate", "acceptance_rate",
            "latency_p95_ms", "total_tokens", "cost_usd")


def get_current_metrics(period: str = "24h", platform: Platform = None,
                        project: str | None = None) -> CurrentMetrics:
    """Headline metrics of a period (1h, 24h, 7d, 30d, <N>h, <N>d or all) with the change
    against the period just before it: sessions, prompts, tool calls and error rate, edit
    acceptance, exact latency percentiles, tokens and cost. Optional platform/project filter.
    Also each budget's state now (`blueplane budget`: spent, level ok/warn/over, whether the
    hard cap refuses tool calls).
    """
    cur, prev = window(period)
    with reading() as conn:
        known_project(conn, project)
        flt = filters(platform, project)
        row = summary(conn, cur, flt)
        before = summary(conn, prev, flt) if prev else None
        newest = newest_session_end(conn)
        otel = otel_summary(conn, cur, flt)
    changes = compare(row, before)
    note = None
    if not row["sessions"] and not row["tool_calls"]:
        note = (f"no activity recorded in this period; newest session ended {newest}"
                if newest else "no sessions recorded yet")
    return CurrentMetrics(
        period=cur.label, window_start=cur.start, window_end=cur.end, platform=platform,
        project=project, sessions=row["sessions"], prompts=row["prompts"],
        tool_calls=row["tool_calls"], tool_errors=row["tool_errors"],
        error_rate=row["error_rate"], interruption_rate=row["interruption_rate"],
        edits_accepted=row["edits_accepted"], edits_rejected=row["edits_rejected"],
        acceptance_rate=row["acceptance_rate"], lines_added=row["lines_added"],
        lines_removed=row["lines_removed"], latency_p50_ms=row["latency_p50_ms"],
        latency_p95_ms=row["latency_p95_ms"], total_tokens=row["total_tokens"],
        cost_usd=round(row["cost_usd"], 6),
        changes=[MetricChange(name=n, value=changes[n]["value"],
                              previous=changes[n]["previous"], change=changes[n]["change"],
                              better=changes[n]["good"]) for n in COMPARED] if prev else [],
        note=note, budgets=_budgets(),
        otel=OtelMetrics(**{k: otel[k] for k in OtelMetrics.model_fields}))


def _budgets() -> list[BudgetState]:
    """The budgets' states now (`blueplane budget`); empty when none is set."""
    from blueplane_pipeline.budgets.current import current_states

    current = current_states()
    return [BudgetState(**s) for s in current["budgets"]] if current else []


def get_session_metrics(session_id: str) -> SessionMetrics:
    """Everything measured about one session: totals, per-tool outcomes and latency, files
    edited, failed calls, and each turn with its tool sequence. A unique id prefix works."""
    with reading() as conn:
        found, suggestions = resolve_session(conn, session_id.strip())
        if found is None:
            hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
            count = session_count(conn)
            raise ToolError(f"no session {session_id!r} among {count} recorded sessions{hint}")
        detail = session_detail(conn, found)
    if detail is None:  # deleted between the two reads
        raise ToolError(f"session {found!r} disappeared while reading")
    s = detail["session"]
    return SessionMetrics(
        session_id=s["session_id"], platform=s["platform"], project_name=s["project_name"],
        title=s["title"], started_at=s["started_at"], ended_at=s["ended_at"],
        duration_s=s["duration_s"], active_s=s["active_s"], primary_model=s["primary_model"],
        prompts=s["prompts"], tool_calls=s["tool_calls"], tool_errors=s["tool_errors"],
        tool_rejected=s["tool_rejected"], tool_interrupted=s["tool_interrupted"],
        edits_accepted=s["edits_accepted"], edits_rejected=s["edits_rejected"],
        acceptance_rate=s["acceptance_rate"], lines_added=s["lines_added"],
        lines_removed=s["lines_removed"],
        total_tokens=(s["input_tokens"] + s["output_tokens"] + s["cache_creation_tokens"]
                      + s["cache_read_tokens"]),
        cost_usd=s["cost_usd"], compactions=s["compactions"],
        otel=OtelMetrics(**otel_of_session(s)),
        tools=[ToolUsage(**{k: t[k] for k in ToolUsage.model_fields}) for t in detail["tools"]],
        files=[FileActivity(**{k: f[k] or 0 if k not in ("file_path", "file_ext") else f[k]
                               for k in FileActivity.model_fields}) for f in detail["files"]],
        failed_calls=[FailedCall(**e) for e in detail["errors"]],
        turns=[_turn(t) for t in detail["turns"]])


def _turn(t: dict) -> TurnBrief:
    try:
        timeline = json.loads(t["timeline"] or "[]")
    except ValueError:
        timeline = []
    calls = [{"tool_name": item.get("tool") or "?", "is_sidechain": 0} for item in timeline
             if isinstance(item, dict) and item.get("kind") == "tool"]
    prompt = t["prompt_text"]
    return TurnBrief(
        turn_index=t["turn_index"], started_at=t["started_at"],
        prompt=prompt[:300] if prompt else None, tool_calls=t["tool_calls"],
        tool_errors=t["tool_errors"], edits_accepted=t["edits_accepted"],
        edits_rejected=t["edits_rejected"], interrupted=bool(t["interrupted"]),
        tool_sequence=tool_sequence(calls))


def get_tool_performance(period: str = "7d", tool: str | None = None,
                         platform: Platform = None,
                         project: str | None = None) -> ToolPerformance:
    """Per tool over a period: calls by outcome, error/rejection rates, edit acceptance and
    exact latency percentiles (p50/p95/p99, max). Busiest tools first."""
    cur, _ = window(period)
    with reading() as conn:
        known_project(conn, project)
        rows = tool_performance(conn, cur, filters(platform, project), tool=tool)
        known = [] if rows or not tool else tool_names(conn, limit=15)
    note = None
    if not rows:
        note = (f"no calls of {tool!r} in this period" + (
            f"; tools seen: {', '.join(known)}" if known else "")) if tool else \
            "no tool calls recorded in this period"
    return ToolPerformance(
        period=cur.label, note=note,
        tools=[ToolStats(**{k: r.get(k) for k in ToolStats.model_fields}) for r in rows])
