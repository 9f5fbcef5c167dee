"""Optimisation tools: which tools to reach for and how to approach a task, answered from
measured success and latency in comparable past work, each with its evidence."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.analytics.metrics import percentile, rejection_rate
from blueplane_pipeline.core import config
from blueplane_pipeline.read import search as text_search
from blueplane_pipeline.read.breakdowns import acceptance_breakdown, turn_calls
from blueplane_pipeline.read.filters import Filters
from blueplane_pipeline.read.periods import Window
from mcp_server.models import Finding, Strategy, ToolRecommendation, ToolRecommendations
from mcp_server.patterns import (
    ToolStat,
    failure_counts,
    fmt_ms,
    fmt_rate,
    pattern_stats,
    ranked,
    tool_stats,
    turn_succeeded,
)
from mcp_server.reading import filters, known_project, normalise_ext, reading, window

SIMILAR_TURNS = 30
MIN_CONTEXT_CALLS = 5
CAUTION_RATE = 0.2
METHOD = (
    "Tool calls from the context (turns whose prompts are most similar to the task by "
    "full-text relevance, and/or calls on the given file type, within the period and "
    "project) are grouped per tool. Success rate = success ÷ calls with an outcome; tools "
    "are ranked by its 95% Wilson lower bound (so small samples rank low), then by median "
    "latency. Baseline = the same tool over every call in the period."
)


def _similar_turns(conn: sqlite3.Connection, task: str, cur: Window,
                   flt: Filters) -> list[dict]:
    hits = text_search.search(conn, config.db_path(), task, limit=SIMILAR_TURNS * 3)
    keys = list(dict.fromkeys((h.session_id, h.turn_index) for h in hits
                              if h.turn_index is not None))[:SIMILAR_TURNS]
    return turn_calls(conn, cur, flt, keys=keys)


def _context_calls(turns: list[dict], all_calls: list[dict], file_ext: str | None,
                   has_task: bool) -> tuple[list[dict], str]:
    """The calls to learn from and a description of where they come from."""
    if has_task:
        calls = [c for t in turns for c in t["calls"]]
        where = f"{len(turns)} similar past turns"
        if file_ext:
            on_ext = [c for c in calls if c["file_ext"] == file_ext]
            if len(on_ext) >= MIN_CONTEXT_CALLS:
                return on_ext, f"{where}, calls on {file_ext} files"
            if not calls:
                return ([c for c in all_calls if c["file_ext"] == file_ext],
                        f"calls on {file_ext} files (no similar turns)")
        return calls, where
    if file_ext:
        return [c for c in all_calls if c["file_ext"] == file_ext], f"calls on {file_ext} files"
    return all_calls, "all calls"


def recommendation(stat: ToolStat, base: ToolStat | None, where: str) -> ToolRecommendation:
    decided = stat.calls - _pending(stat)
    reason = (f"{stat.success}/{decided} calls succeeded ({fmt_rate(stat.success_rate)}) in "
              f"{where}; p50 {fmt_ms(stat.latency_p50_ms)}, p95 {fmt_ms(stat.latency_p95_ms)}")
    if base is not None:
        reason += f"; everywhere {fmt_rate(base.success_rate)} over {base.calls} calls"
    return ToolRecommendation(
        tool_name=stat.tool_name, score=stat.score, calls=stat.calls,
        success_rate=stat.success_rate, error_rate=stat.error_rate,
        latency_p50_ms=stat.latency_p50_ms, latency_p95_ms=stat.latency_p95_ms,
        baseline_success_rate=base.success_rate if base else None, reason=reason)


def cautions(calls: list[dict], stats: dict[str, ToolStat], where: str) -> list[Finding]:
    """Tools that often fail or get refused in the context, with their commonest failure."""
    failures = failure_counts(calls)
    out = []
    for s in ranked(stats)[::-1]:
        executed = s.success + s.errors
        refused = rejection_rate(s.rejected, s.calls) or 0
        if not ((executed >= 3 and (s.error_rate or 0) >= CAUTION_RATE)
                or (s.calls >= 3 and refused >= CAUTION_RATE)):
            continue
        top = next(((st, cls, n) for (tool, st, cls), n in failures.most_common()
                    if tool == s.tool_name), None)
        statement = (f"{s.tool_name} in {where}: {s.errors} errors, {s.rejected} rejected, "
                     f"{s.interrupted} interrupted of {s.calls} calls")
        if top:
            statement += f"; most often {top[0]} ({top[1]}, {top[2]}×)"
        out.append(Finding(kind="caution", statement=statement, evidence={
            "tool": s.tool_name, "calls": s.calls, "errors": s.errors, "rejected": s.rejected,
            "interrupted": s.interrupted, "error_rate": s.error_rate,
            "top_failure": f"{top[0]}:{top[1]}" if top else None}))
    return out


def recommend_tools(task: str | None = None, file_ext: str | None = None,
                    project: str | None = None, period: str = "90d",
                    limit: int = 5) -> ToolRecommendations:
    """Tools ranked by measured success (and then speed) in comparable past work: turns
    whose prompts resemble ``task`` and/or calls on ``file_ext`` files, optionally within a
    project. Each recommendation gives its counts, latency and the tool's overall baseline;
    tools that often fail there come back as cautions."""
    cur, _ = window(period)
    ext = normalise_ext(file_ext) if file_ext else None
    with reading() as conn:
        known_project(conn, project)
        flt = filters(None, project)
        everything = turn_calls(conn, cur, flt)
        turns = _similar_turns(conn, task, cur, flt) if task and task.strip() else []
    all_calls = [c for t in everything for c in t["calls"]]
    calls, where = _context_calls(turns, all_calls, ext, bool(task and task.strip()))
    if project:
        where += f" in {project}"
    stats = tool_stats(calls)
    base = tool_stats(all_calls)
    recs = [recommendation(s, base.get(s.tool_name), where)
            for s in ranked(stats) if s.success][:max(1, min(int(limit), 50))]
    return ToolRecommendations(context=where, calls_considered=len(calls), method=METHOD,
                               recommendations=recs, cautions=cautions(calls, stats, where))


def suggest_strategy(task: str, file_ext: str | None = None, project: str | None = None,
                     period: str = "all") -> Strategy:
    """How comparable past tasks went and what distinguished the ones that worked: the
    success rate of similar turns, the tool sequences that succeeded or failed there, their
    commonest failures, the effort successful ones took, and edit acceptance for the file
    type. Every suggestion is a measured statement with its evidence."""
    cur, _ = window(period)
    ext = normalise_ext(file_ext) if file_ext else None
    with reading() as conn:
        known_project(conn, project)
        flt = filters(None, project)
        turns = _similar_turns(conn, task, cur, flt)
        all_turns = turn_calls(conn, cur, flt, with_calls=False)
        ext_rows = acceptance_breakdown(conn, cur, flt, by="file_ext", file_ext=ext) \
            if ext else []
    if not turns:
        return Strategy(task=task, similar_turns=0, suggestions=[], note=(
            f"no similar past tasks among {len(all_turns)} recorded turns"
            if all_turns else "no turns recorded yet"))
    return Strategy(task=task, similar_turns=len(turns),
                    suggestions=strategy_findings(turns, all_turns, ext_rows, ext))


def strategy_findings(turns: list[dict], all_turns: list[dict], ext_rows: list[dict],
                      ext: str | None) -> list[Finding]:
    """The measured statements ``suggest_strategy`` returns (pure: rows in, findings out)."""
    out = []
    wins = [t for t in turns if turn_succeeded(t)]
    base_wins = sum(turn_succeeded(t) for t in all_turns)
    out.append(Finding(
        kind="outcome",
        statement=(f"{len(wins)} of {len(turns)} similar past turns succeeded "
                   f"({fmt_rate(len(wins) / len(turns))}); across all turns "
                   f"{fmt_rate(base_wins / len(all_turns) if all_turns else None)}"),
        evidence={"similar": len(turns), "succeeded": len(wins), "all_turns": len(all_turns),
                  "all_succeeded": base_wins,
                  "sessions": sorted({t["session_id"] for t in turns})[:10]}))
    patterns = pattern_stats(turns, min_support=2) or pattern_stats(turns, min_support=1)
    if patterns:
        best = patterns[0]
        out.append(Finding(
            kind="best_sequence",
            statement=(f"In similar turns, '{best.sequence}' succeeded {best.successes} of "
                       f"{best.turns} times"),
            evidence={"sequence": best.sequence, "turns": best.turns,
                      "successes": best.successes, "examples": best.example_sessions}))
        worst = min(patterns, key=lambda p: (p.success_rate, -p.turns))
        if worst is not best and worst.success_rate < best.success_rate:
            out.append(Finding(
                kind="weak_sequence",
                statement=(f"'{worst.sequence}' succeeded only {worst.successes} of "
                           f"{worst.turns} times in similar turns"),
                evidence={"sequence": worst.sequence, "turns": worst.turns,
                          "successes": worst.successes}))
    calls = [c for t in turns for c in t["calls"]]
    failures = failure_counts(calls)
    if failures:
        (tool, status, cls), n = failures.most_common(1)[0]
        out.append(Finding(
            kind="common_failure",
            statement=(f"Commonest failure in similar turns: {tool} {status} ({cls}), {n} of "
                       f"{sum(failures.values())} failed calls"),
            evidence={"tool": tool, "status": status, "error_class": cls, "count": n,
                      "failed_calls": sum(failures.values())}))
    if wins:
        lost = [t for t in turns if not turn_succeeded(t)]
        effort = {
            "median_calls_succeeded": percentile([t["tool_calls"] for t in wins], 50),
            "median_active_s_succeeded": percentile([t["active_s"] for t in wins], 50),
            "median_calls_other": percentile([t["tool_calls"] for t in lost], 50),
            "median_active_s_other": percentile([t["active_s"] for t in lost], 50),
        }
        out.append(Finding(
            kind="effort",
            statement=(f"Successful similar turns took a median {effort['median_calls_succeeded']}"
                       f" tool calls and {effort['median_active_s_succeeded']} s of active time"
                       + (f" (others: {effort['median_calls_other']} calls, "
                          f"{effort['median_active_s_other']} s)" if lost else "")),
            evidence=effort))
    preferred = [s for s in ranked(tool_stats(calls)) if s.success][:3]
    if preferred:
        out.append(Finding(
            kind="reliable_tools",
            statement="Most reliable tools in similar turns: " + ", ".join(
                f"{s.tool_name} {s.success}/{s.calls - _pending(s)}" for s in preferred),
            evidence={"tools": [s.tool_name for s in preferred]}))
    if ext:
        total = {k: sum(r[k] for r in ext_rows) for k in ("accepted", "rejected",
                                                          "user_modified")}
        decided = total["accepted"] + total["rejected"]
        out.append(Finding(
            kind="file_type",
            statement=(f"{ext} edits in the period: {total['accepted']} accepted, "
                       f"{total['rejected']} rejected"
                       + (f" ({fmt_rate(total['accepted'] / decided)} accepted)" if decided
                          else "")),
            evidence={"file_ext": ext, **total}))
    return out


def _pending(stat: ToolStat) -> int:
    return stat.calls - stat.success - stat.errors - stat.rejected - stat.interrupted
