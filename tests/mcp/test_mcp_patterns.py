"""The pure logic behind the analysis tools: sequences, success, ranking, full-text index."""

from __future__ import annotations

import pytest

from blueplane_pipeline.read.search import TextIndex, match_expression
from mcp_server.patterns import (
    pattern_stats,
    tool_sequence,
    tool_stats,
    turn_succeeded,
    wilson_lower,
)
from mcp_server.tools_optimize import strategy_findings


def call(tool: str, status: str = "success", latency: float | None = 10.0, **kw) -> dict:
    return {"tool_name": tool, "status": status, "latency_ms": latency,
            "error_class": kw.get("error_class"), "file_ext": kw.get("file_ext"),
            "is_sidechain": kw.get("is_sidechain", 0)}


def turn(session: str, calls: list[dict], **counts) -> dict:
    errors = sum(c["status"] == "error" for c in calls)
    return {"session_id": session, "turn_index": counts.get("turn_index", 0),
            "tool_calls": len(calls), "tool_errors": errors,
            "tool_rejected": sum(c["status"] == "rejected" for c in calls),
            "tool_interrupted": sum(c["status"] == "interrupted" for c in calls),
            "interrupted": counts.get("interrupted", 0),
            "edits_rejected": counts.get("edits_rejected", 0),
            "active_s": counts.get("active_s", 60.0), "calls": calls}


def test_wilson_lower_bound():
    assert wilson_lower(0, 0) == 0
    assert wilson_lower(1, 1) == pytest.approx(0.2065, abs=1e-4)
    assert wilson_lower(45, 50) == pytest.approx(0.7864, abs=1e-4)
    assert wilson_lower(45, 50) > wilson_lower(1, 1)


def test_tool_sequence_collapses_repeats_and_skips_subagents():
    calls = [call("Read"), call("Read"), call("Grep", is_sidechain=1), call("Edit"),
             call("Bash"), call("Edit")]
    assert tool_sequence(calls) == "Read → Edit → Bash → Edit"
    long = [call(f"T{i}") for i in range(9)]
    assert tool_sequence(long, max_steps=3) == "T0 → T1 → T2 → …"
    assert tool_sequence([]) == ""


def test_turn_success_definition():
    assert turn_succeeded(turn("s", [call("Read"), call("Edit")]))
    assert not turn_succeeded(turn("s", []))
    assert not turn_succeeded(turn("s", [call("Edit", "error")]))
    assert not turn_succeeded(turn("s", [call("Edit", "rejected")]))
    assert not turn_succeeded(turn("s", [call("Read")], interrupted=1))
    assert not turn_succeeded(turn("s", [call("Read")], edits_rejected=1))


def test_patterns_rank_by_lower_bound_not_raw_rate():
    turns = [turn("lucky", [call("Write")])]  # 1/1
    turns += [turn(f"s{i}", [call("Read"), call("Edit")]) for i in range(9)]
    turns.append(turn("bad", [call("Read"), call("Edit", "error")]))  # 9/10
    stats = pattern_stats(turns, min_support=1)
    assert [p.sequence for p in stats] == ["Read → Edit", "Write"]
    top = stats[0]
    assert (top.turns, top.successes, top.success_rate) == (10, 9, 0.9)
    assert top.example_sessions == ["s0", "s1", "s2"]
    assert [p.sequence for p in pattern_stats(turns, min_support=2)] == ["Read → Edit"]


def test_tool_stats_rates_and_exact_percentiles():
    calls = [call("Bash", latency=v) for v in (10, 20, 30, 40)]
    calls += [call("Bash", "error", latency=100), call("Bash", "pending", latency=None),
              call("Bash", "rejected", latency=None)]
    s = tool_stats(calls)["Bash"]
    assert (s.calls, s.success, s.errors, s.rejected) == (7, 4, 1, 1)
    assert s.success_rate == round(4 / 6, 4)  # pending calls have no outcome yet
    assert s.error_rate == round(1 / 5, 4)  # errors ÷ executed
    assert s.latency_p50_ms == 30 and s.latency_p95_ms == pytest.approx(88.0)


def test_strategy_findings_state_measured_facts():
    similar = [turn(f"s{i}", [call("Read"), call("Edit", file_ext=".py")], active_s=30)
               for i in range(3)]
    similar.append(turn("x", [call("Edit", "error", error_class="string_not_found")],
                        active_s=90))
    rows = [{"accepted": 8, "rejected": 2, "user_modified": 1}]
    found = {f.kind: f for f in strategy_findings(similar, similar * 2, rows, ".py")}
    assert found["outcome"].evidence["succeeded"] == 3
    assert found["outcome"].evidence["similar"] == 4
    assert found["common_failure"].evidence == {
        "tool": "Edit", "status": "error", "error_class": "string_not_found", "count": 1,
        "failed_calls": 1}
    assert found["effort"].evidence["median_active_s_succeeded"] == 30
    assert found["effort"].evidence["median_active_s_other"] == 90
    assert "8 accepted, 2 rejected (80% accepted)" in found["file_type"].statement


def test_match_expression_never_passes_fts_syntax_through():
    assert match_expression('fix "the" NEAR(auth*) OR bug-123') == (
        '"fix" OR "near" OR "auth" OR "bug" OR "123"')
    assert match_expression("the a of") is None
    assert match_expression("") is None


def test_text_index_ranks_closest_text_first():
    index = TextIndex([
        ("s1", 0, "add a login form with validation"),
        ("s2", 0, "fix the flaky database migration test"),
        ("s2", 1, "migration test fails again after the database upgrade"),
        ("s3", None, "Database migration cleanup"),
    ])
    hits = index.search("database migration test is flaky")
    assert [(h.session_id, h.turn_index) for h in hits][:2] == [("s2", 0), ("s2", 1)]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search('"; DROP TABLE docs; --') == []
    assert index.size == 4
