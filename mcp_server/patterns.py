"""Pure pattern mining over turns and tool calls (rows from ``read.breakdowns.turn_calls``).

Everything the optimisation tools say is computed here from measured outcomes, and every
finding carries the counts it rests on. Small samples are ranked by the Wilson lower bound
of their success rate, so 1/1 never beats 45/50.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from blueplane_pipeline.analytics.metrics import error_rate, percentile, success_rate

SUCCESS_DEFINITION = (
    "A turn (one prompt and what followed) succeeded when it ran at least one tool, none of "
    "its calls failed, was rejected or was interrupted, the user did not interrupt it, and "
    "no edit it proposed was rejected."
)
ARROW = " → "
MAX_STEPS = 6


def turn_succeeded(turn: dict) -> bool:
    return (turn["tool_calls"] > 0 and turn["tool_errors"] == 0 and turn["tool_rejected"] == 0
            and turn["tool_interrupted"] == 0 and not turn["interrupted"]
            and turn["edits_rejected"] == 0)


def tool_sequence(calls: Sequence[dict], max_steps: int = MAX_STEPS) -> str:
    """The main thread's tools in order, repeats collapsed: ``Read → Edit → Bash``."""
    steps: list[str] = []
    for call in calls:
        if call["is_sidechain"]:
            continue
        if not steps or steps[-1] != call["tool_name"]:
            steps.append(call["tool_name"])
    if len(steps) > max_steps:
        steps = steps[:max_steps] + ["…"]
    return ARROW.join(steps)


def wilson_lower(successes: int, n: int, z: float = 1.96) -> float:
    """Lower bound of the 95 % Wilson interval of ``successes / n`` (0 when n = 0)."""
    if n == 0:
        return 0.0
    p = successes / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - margin) / (1 + z * z / n)


@dataclass
class PatternStat:
    sequence: str
    turns: int
    successes: int
    success_rate: float
    score: float
    median_active_s: float | None
    example_sessions: list[str] = field(default_factory=list)


def pattern_stats(turns: Iterable[dict], min_support: int = 2) -> list[PatternStat]:
    """Success of each tool sequence over ``turns`` (turns without tools are skipped)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for turn in turns:
        seq = tool_sequence(turn["calls"])
        if seq:
            groups[seq].append(turn)
    out = []
    for seq, members in groups.items():
        if len(members) < min_support:
            continue
        wins = sum(turn_succeeded(t) for t in members)
        examples = list(dict.fromkeys(t["session_id"] for t in members if turn_succeeded(t)))
        out.append(PatternStat(
            sequence=seq, turns=len(members), successes=wins,
            success_rate=round(wins / len(members), 4),
            score=round(wilson_lower(wins, len(members)), 4),
            median_active_s=percentile([t["active_s"] for t in members], 50),
            example_sessions=examples[:3]))
    out.sort(key=lambda p: (-p.score, -p.turns, p.sequence))
    return out


@dataclass
class ToolStat:
    tool_name: str
    calls: int
    success: int
    errors: int
    rejected: int
    interrupted: int
    success_rate: float | None  # success ÷ calls with an outcome (not pending)
    error_rate: float | None  # errors ÷ executed (success + error), as docs/metrics.md
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    score: float  # Wilson lower bound of success_rate


def tool_stats(calls: Iterable[dict]) -> dict[str, ToolStat]:
    """Per tool: outcomes and exact latency percentiles over ``calls``."""
    status: dict[str, Counter] = defaultdict(Counter)
    latencies: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        status[call["tool_name"]][call["status"]] += 1
        if call["latency_ms"] is not None:
            latencies[call["tool_name"]].append(call["latency_ms"])
    out = {}
    for name, c in status.items():
        decided = sum(c.values()) - c["pending"]
        lat = latencies[name]
        out[name] = ToolStat(
            tool_name=name, calls=sum(c.values()), success=c["success"], errors=c["error"],
            rejected=c["rejected"], interrupted=c["interrupted"],
            success_rate=success_rate(c["success"], decided, 4),
            error_rate=error_rate(c["error"], c["success"], 4),
            latency_p50_ms=percentile(lat, 50), latency_p95_ms=percentile(lat, 95),
            score=round(wilson_lower(c["success"], decided), 4))
    return out


def ranked(stats: dict[str, ToolStat]) -> list[ToolStat]:
    """Best first: success lower bound, then the faster median."""
    return sorted(stats.values(), key=lambda s: (-s.score, s.latency_p50_ms or 0, s.tool_name))


def failure_counts(calls: Iterable[dict]) -> Counter:
    """(tool, status, error class) of the calls that did not succeed."""
    return Counter((c["tool_name"], c["status"], c["error_class"] or "other")
                   for c in calls if c["status"] in ("error", "rejected", "interrupted"))


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
