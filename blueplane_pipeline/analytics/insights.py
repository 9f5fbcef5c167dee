"""Findings computed from the analytics tables, each with its evidence and its SQL.

Every finding stores the query that reproduces its evidence (with the values inlined, so
it runs as-is in Datasette or sqlite3). Windows are relative to the newest day in the data
so the same data always gives the same findings. Thresholds are named constants below.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import date, timedelta

import orjson

from blueplane_pipeline.analytics import state
from blueplane_pipeline.analytics.metrics import percentile
from blueplane_pipeline.storage.db import write_transaction

RECENT_DAYS = 7
BASELINE_DAYS = 28
MIN_EXECUTED = 5  # calls needed before an error rate means anything
JUMP_FACTOR = 2.0
JUMP_MIN_DELTA = 0.10
HIGH_ERROR_RATE = 0.25
SLOW_P95_MS = 30_000
MIN_DECISIONS = 3
HIGH_REJECTION = 0.30
COMPACTIONS_REPEATED = 2
TOP_COSTLY = 3


@dataclass
class InsightStats:
    insights: int = 0
    seconds: float = 0.0


def refresh_insights(conn: sqlite3.Connection) -> InsightStats:
    t0 = time.perf_counter()
    rows = compute_insights(conn)
    with write_transaction(conn):
        conn.execute("DELETE FROM insights")
        state.insert_rows(conn, "insights", rows)
    return InsightStats(len(rows), round(time.perf_counter() - t0, 3))


def compute_insights(conn: sqlite3.Connection) -> list[dict]:
    last = conn.execute("SELECT max(day) FROM (SELECT max(day) AS day FROM tool_calls "
                        "UNION ALL SELECT max(day) FROM sessions)").fetchone()[0]
    if last is None:
        return []
    end = date.fromisoformat(last)
    recent_start = (end - timedelta(days=RECENT_DAYS - 1)).isoformat()
    base_start = (end - timedelta(days=RECENT_DAYS + BASELINE_DAYS - 1)).isoformat()
    base_end = (end - timedelta(days=RECENT_DAYS)).isoformat()
    out: list[dict] = []
    jumped = _error_jumps(conn, out, recent_start, last, base_start, base_end)
    _error_rates(conn, out, base_start, last, jumped)
    _slow_tools(conn, out, base_start, last)
    _file_type_rejections(conn, out, base_start, last)
    _repeated_compaction(conn, out)
    _costly_sessions(conn, out)
    return out


def _sql(template: str, **params: object) -> str:
    """The query with its parameters inlined (so it can be re-run as it is)."""
    for name, value in params.items():
        literal = "'" + str(value).replace("'", "''") + "'" if isinstance(value, str) \
            else str(value)
        template = template.replace(f":{name}", literal)
    return " ".join(template.split())


def _insight(kind: str, subject: str, severity: str, title: str, detail: str,
             value: float | None, baseline: float | None, evidence: dict, query: str,
             window: tuple[str | None, str | None]) -> dict:
    return {
        "insight_id": f"{kind}:{subject}", "kind": kind, "severity": severity,
        "subject": subject, "title": title, "detail": detail, "metric_value": value,
        "baseline_value": baseline,
        "evidence": orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS).decode(),
        "query": query, "window_start": window[0], "window_end": window[1],
    }


_TOOL_ERRORS = """
SELECT tool_name, sum(status = 'error') AS errors,
       sum(status IN ('success', 'error')) AS executed
FROM tool_calls WHERE day BETWEEN :start AND :end GROUP BY tool_name
"""


def _tool_errors(conn, start: str, end: str) -> dict[str, tuple[int, int]]:
    return {t: (e, x) for t, e, x in conn.execute(_TOOL_ERRORS, {"start": start, "end": end})}


def _error_jumps(conn, out, recent_start, last, base_start, base_end) -> set[str]:
    recent = _tool_errors(conn, recent_start, last)
    base = _tool_errors(conn, base_start, base_end)
    jumped = set()
    for tool, (errors, executed) in sorted(recent.items()):
        b_errors, b_executed = base.get(tool, (0, 0))
        if executed < MIN_EXECUTED or b_executed < MIN_EXECUTED:
            continue
        rate, b_rate = errors / executed, b_errors / b_executed
        if rate >= JUMP_FACTOR * b_rate and rate - b_rate >= JUMP_MIN_DELTA:
            jumped.add(tool)
            query = _sql(_TOOL_ERRORS, start=recent_start, end=last) + " -- vs " + \
                _sql(_TOOL_ERRORS, start=base_start, end=base_end)
            out.append(_insight(
                "tool_error_jump", tool, "warn",
                f"{tool} fails {rate:.0%} of the time in the last {RECENT_DAYS} days "
                f"(was {b_rate:.0%})",
                f"error rate = errors ÷ executed calls: {errors}/{executed} from {recent_start} "
                f"to {last}, against {b_errors}/{b_executed} in the {BASELINE_DAYS} days before",
                round(rate, 4), round(b_rate, 4),
                {"recent": {"errors": errors, "executed": executed},
                 "baseline": {"errors": b_errors, "executed": b_executed}},
                query, (base_start, last)))
    return jumped


def _error_rates(conn, out, start, last, skip: set[str]) -> None:
    for tool, (errors, executed) in sorted(_tool_errors(conn, start, last).items()):
        if tool in skip or executed < MIN_EXECUTED:
            continue
        rate = errors / executed
        if rate < HIGH_ERROR_RATE:
            continue
        classes = conn.execute(
            "SELECT error_class, count(*) FROM tool_calls WHERE tool_name = ? AND "
            "status = 'error' AND day BETWEEN ? AND ? GROUP BY 1 ORDER BY 2 DESC, 1",
            (tool, start, last)).fetchall()
        out.append(_insight(
            "tool_error_rate", tool, "warn" if rate >= 0.5 else "info",
            f"{tool} fails {rate:.0%} of its executed calls",
            f"error rate = errors ÷ executed calls = {errors}/{executed} from {start} to {last};"
            f" most common class: {classes[0][0] if classes else '-'}",
            round(rate, 4), None,
            {"errors": errors, "executed": executed, "classes": dict(classes)},
            _sql(_TOOL_ERRORS, start=start, end=last), (start, last)))


_LATENCIES = """
SELECT latency_ms FROM tool_calls
WHERE tool_name = :tool AND latency_ms IS NOT NULL AND day BETWEEN :start AND :end
"""


def _slow_tools(conn, out, start, last) -> None:
    tools = [t for (t,) in conn.execute(
        "SELECT tool_name FROM tool_calls WHERE latency_ms IS NOT NULL AND day BETWEEN ? AND ? "
        "GROUP BY tool_name HAVING count(*) >= ? ORDER BY tool_name", (start, last, MIN_EXECUTED))]
    for tool in tools:
        values = [v for (v,) in conn.execute(_LATENCIES, {"tool": tool, "start": start,
                                                          "end": last})]
        p95 = percentile(values, 95)
        if p95 is None or p95 < SLOW_P95_MS:
            continue
        p50 = percentile(values, 50)
        out.append(_insight(
            "slow_tool", tool, "info",
            f"{tool} is slow: p95 {p95 / 1000:.1f} s",
            f"exact p95 over {len(values)} calls from {start} to {last} (p50 {p50:.0f} ms)",
            p95, p50, {"calls": len(values), "p50_ms": p50, "p95_ms": p95,
                       "max_ms": max(values)},
            _sql(_LATENCIES, tool=tool, start=start, end=last), (start, last)))


_EXT_DECISIONS = """
SELECT file_ext, sum(accepted = 1) AS accepted, sum(accepted = 0) AS rejected
FROM file_edits WHERE day BETWEEN :start AND :end GROUP BY file_ext
"""


def _file_type_rejections(conn, out, start, last) -> None:
    for ext, accepted, rejected in conn.execute(_EXT_DECISIONS, {"start": start, "end": last}):
        accepted, rejected = accepted or 0, rejected or 0
        decided = accepted + rejected
        if decided < MIN_DECISIONS or rejected / decided < HIGH_REJECTION:
            continue
        share = rejected / decided
        label = ext or "(no extension)"
        out.append(_insight(
            "file_type_rejections", label, "warn",
            f"Edits to {label} files are rejected {share:.0%} of the time",
            f"rejected ÷ (accepted + rejected) = {rejected}/{decided} from {start} to {last}",
            round(share, 4), None, {"accepted": accepted, "rejected": rejected},
            _sql(_EXT_DECISIONS, start=start, end=last), (start, last)))


_COMPACTED = """
SELECT session_id, project_name, compactions, prompts, duration_s FROM sessions
WHERE compactions >= :n ORDER BY compactions DESC, session_id LIMIT 5
"""


def _repeated_compaction(conn, out) -> None:
    for sid, project, n, prompts, duration in conn.execute(_COMPACTED,
                                                           {"n": COMPACTIONS_REPEATED}):
        out.append(_insight(
            "repeated_compaction", sid, "info",
            f"Session {sid[:8]} ({project}) compacted its context {n} times",
            f"{n} compactions over {prompts} prompts and {duration / 60:.0f} minutes: long "
            "sessions lose detail at every compaction; splitting the task may help",
            n, None, {"compactions": n, "prompts": prompts, "duration_s": duration},
            _sql(_COMPACTED, n=COMPACTIONS_REPEATED), (None, None)))


_COSTLY = """
SELECT session_id, project_name, cost_usd, input_tokens, output_tokens,
       cache_creation_tokens, cache_read_tokens, prompts, tool_calls, duration_s
FROM sessions WHERE cost_usd > 0 ORDER BY cost_usd DESC, session_id LIMIT :n
"""


def _costly_sessions(conn, out) -> None:
    rows = conn.execute(_COSTLY, {"n": TOP_COSTLY}).fetchall()
    total = conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM sessions").fetchone()[0]
    for sid, project, cost, inp, outp, cw, cr, prompts, calls, duration in rows:
        tokens = {"input": inp, "output": outp, "cache_write": cw, "cache_read": cr}
        biggest = max(tokens, key=lambda k: tokens[k])
        share = tokens[biggest] / max(sum(tokens.values()), 1)
        out.append(_insight(
            "costly_session", sid, "info",
            f"Session {sid[:8]} ({project}) cost ${cost:.2f}",
            f"{cost / total:.0%} of all cost; {biggest.replace('_', ' ')} tokens are "
            f"{share:.0%} of its {sum(tokens.values()):,} tokens, over {prompts} prompts and "
            f"{calls} tool calls in {duration / 60:.0f} minutes",
            round(cost, 6), round(total, 6), {"tokens": tokens, "prompts": prompts,
                                              "tool_calls": calls, "dominant": biggest},
            _sql(_COSTLY, n=TOP_COSTLY), (None, None)))
