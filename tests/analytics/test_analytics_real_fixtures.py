"""Analytics on the real transcripts and hook logs in tests/fixtures/real.

Every expected number is derived by hand from the fixture files; the derivation is written
next to it (line numbers are 1-based lines of the .jsonl file).
"""

from __future__ import annotations

import json

import pytest
from analytics_fixtures import hook_envelope, rows, spaced, store, transcript_envelopes

from blueplane_pipeline.analytics import integrity
from blueplane_pipeline.analytics.refresh import refresh_all
from tests.conftest import CLAUDE_HOME, HOOK_PAYLOADS

PROJECTS = CLAUDE_HOME / "projects"
DOCTACON_ID = "38cc65a3-09b0-4865-aafd-d4f65d638a61"
DOCTACON = PROJECTS / "-Users-crlough-Code-personal-chat-pdf-via-rag" / f"{DOCTACON_ID}.jsonl"
DOCTACON_LOGS = HOOK_PAYLOADS / "Doctacon+chat-pdf-via-rag" / "ec0abd7712" / "logs"
ACONTE_LOGS = HOOK_PAYLOADS / "a-conte+openclaw-agents" / "48cc65a67c" / "logs"
MUSIC = PROJECTS / "-Users-chip-dev-ai-music"
DEMO = PROJECTS / "-path-to-Demo"


def doctacon_hooks() -> list[dict]:
    """The Doctacon hook log, one file per hook type, in the order a session fires them
    (the logs carry no times: they get one second apart, in this order)."""
    payloads = []
    for name in ("session_start", "user_prompt_submit", "pre_tool_use", "post_tool_use",
                 "notification", "stop"):
        payloads += json.loads((DOCTACON_LOGS / f"{name}.json").read_text())
    return [hook_envelope(p, t) for p, t in
            zip(payloads, spaced("2025-09-08T02:24:39.000Z", len(payloads)), strict=True)]


def refreshed(tmp_path, envelopes):
    conn = store(tmp_path / "telemetry.db", envelopes)
    refresh_all(conn)
    return conn


def by_status(conn, session_id: str) -> dict[str, int]:
    return {r["status"]: r["n"] for r in rows(
        conn, "SELECT status, count(*) AS n FROM tool_calls WHERE session_id = ? GROUP BY 1",
        session_id)}


# The Doctacon transcript has 17 tool_use blocks (lines 4, 5, 14, 20, 21, 22, 32, 38, 43,
# 48, 53, 58, 63, 68, 73, 78, 83): Bash ×6, TodoWrite ×5, Read ×3, WebFetch, Edit,
# BashOutput. Only WebFetch's tool_result (line 11) has is_error=true ("Request failed with
# status code 403"). Its hook log has 17 PreToolUse and 16 PostToolUse (no PostToolUse for
# the failed WebFetch), none with a tool_use_id.
DOCTACON_TOOLS = {"Bash": 6, "TodoWrite": 5, "Read": 3, "WebFetch": 1, "Edit": 1,
                  "BashOutput": 1}


def test_doctacon_hooks_and_transcript_give_17_calls_not_34(tmp_path):
    conn = refreshed(tmp_path, transcript_envelopes(DOCTACON) + doctacon_hooks())
    calls = rows(conn, "SELECT * FROM tool_calls WHERE session_id = ?", DOCTACON_ID)
    assert len(calls) == 17
    assert all(c["sources"] == "hook+transcript" for c in calls)
    tools: dict[str, int] = {}
    for c in calls:
        tools[c["tool_name"]] = tools.get(c["tool_name"], 0) + 1
    assert tools == DOCTACON_TOOLS
    assert by_status(conn, DOCTACON_ID) == {"success": 16, "error": 1}
    assert [c["tool_name"] for c in calls if c["status"] == "error"] == ["WebFetch"]
    s = rows(conn, "SELECT * FROM sessions WHERE session_id = ?", DOCTACON_ID)[0]
    # two UserPromptSubmit hooks == the two user text lines (2 and 13): two turns, not four
    assert s["prompts"] == 2
    assert s["sources"] == "hook,transcript"
    # line 12 is "[Request interrupted by user]"
    assert s["interrupts"] == 1
    # Edit on line 38: structuredPatch has 4 '+' lines and 2 '-' lines
    assert (s["edits_accepted"], s["lines_added"], s["lines_removed"]) == (1, 4, 2)
    assert s["project_path"] == "/Users/crlough/Code/personal/chat-pdf-via-rag"
    assert s["project_name"] == "chat-pdf-via-rag"
    assert s["primary_model"] == "claude-sonnet-4-20250514"


def test_doctacon_transcript_alone_and_hooks_alone(tmp_path):
    (tmp_path / "t").mkdir()
    conn = refreshed(tmp_path / "t", transcript_envelopes(DOCTACON))
    assert by_status(conn, DOCTACON_ID) == {"success": 16, "error": 1}
    (tmp_path / "h").mkdir()
    conn = refreshed(tmp_path / "h", doctacon_hooks())
    calls = rows(conn, "SELECT * FROM tool_calls WHERE session_id = ?", DOCTACON_ID)
    assert len(calls) == 17
    # WebFetch has a PreToolUse only; the Stop hook after it means the session moved on
    # without an outcome: interrupted (no_outcome), not pending, not an error.
    web = [c for c in calls if c["tool_name"] == "WebFetch"][0]
    assert (web["status"], web["error_class"], web["latency_ms"]) == \
        ("interrupted", "no_outcome", None)
    assert by_status(conn, DOCTACON_ID) == {"success": 16, "interrupted": 1}
    assert all(c["tool_use_id"].startswith("hook:") for c in calls)


def test_rejections_and_interrupt_in_ai_music_session(tmp_path):
    """fed8ce56: 7 Bash calls. Line 13 'The user doesn't want to proceed with this tool use'
    (rejected), line 14 'The user doesn't want to take this action right now' (the sibling
    cancelled: interrupted), line 15 '[Request interrupted by user for tool use]'."""
    sid = "fed8ce56-bc79-401f-a83e-af084253362f"
    conn = refreshed(tmp_path, transcript_envelopes(MUSIC / f"{sid}.jsonl"))
    assert by_status(conn, sid) == {"success": 5, "rejected": 1, "interrupted": 1}
    s = rows(conn, "SELECT * FROM sessions WHERE session_id = ?", sid)[0]
    assert s["prompts"] == 2  # "push to github" (line 2), "continue" (line 16)
    assert s["interrupts"] == 1
    assert s["title"] == "AI Music Generation: Diverse Embedding Mapping"  # line 1 summary
    # the summary line has no timestamp: the session runs from line 2 to line 21
    assert (s["started_at"], s["ended_at"], s["duration_s"]) == \
        ("2025-06-10T12:36:23.208Z", "2025-06-10T12:37:28.376Z", 65.168)
    classes = {r["error_class"] for r in rows(
        conn, "SELECT error_class FROM tool_calls WHERE status != 'success'")}
    assert classes == {"user_rejected", "user_interrupted"}
    # Latency = tool_result time − tool_use time for the 5 executed calls:
    # 28.878−27.973=905, 28.872−28.123=749, 42.914−35.132=7782, 37:15.231−37:08.922=6309,
    # 37:25.376−37:09.476=15900 ms. Sorted 749, 905, 6309, 7782, 15900:
    # p50 = 6309; p95 rank 3.8 → 7782 + 0.8·8118 = 14276.4; p99 rank 3.96 → 15575.28.
    tm = rows(conn, "SELECT * FROM tool_metrics WHERE tool_name = 'Bash'")[0]
    assert (tm["calls"], tm["success"], tm["rejected"], tm["interrupted"]) == (7, 5, 1, 1)
    assert (tm["latency_p50_ms"], tm["latency_p95_ms"], tm["latency_p99_ms"]) == \
        (6309.0, 14276.4, 15575.28)
    assert tm["error_rate"] == 0.0 and tm["rejection_rate"] == round(1 / 7, 6)
    turns = rows(conn, "SELECT * FROM turns WHERE session_id = ? ORDER BY turn_index", sid)
    assert [t["tool_calls"] for t in turns] == [5, 2]
    assert [t["interrupted"] for t in turns] == [1, 0]
    assert [t["prompt_text"] for t in turns] == ["push to github", "continue"]
    timeline = json.loads(turns[0]["timeline"])
    assert [i["status"] for i in timeline if i["kind"] == "tool"] == \
        ["success", "success", "success", "rejected", "interrupted"]


def test_permission_rule_refusal_counts_as_rejected_edit(tmp_path):
    """1af7fc5e line 26: Write → "Claude requested permissions to write to … but you haven't
    granted it yet." — a rejected edit; the other 11 calls succeed."""
    sid = "1af7fc5e-8455-4414-9ccd-011d40f70b2a"
    conn = refreshed(tmp_path, transcript_envelopes(DEMO / f"{sid}.jsonl"))
    assert by_status(conn, sid) == {"success": 11, "rejected": 1}
    edit = rows(conn, "SELECT * FROM file_edits")
    assert len(edit) == 1
    assert (edit[0]["tool_name"], edit[0]["accepted"], edit[0]["file_ext"]) == ("Write", 0, ".md")
    s = rows(conn, "SELECT * FROM sessions")[0]
    assert (s["edits_accepted"], s["edits_rejected"], s["acceptance_rate"]) == (0, 1, 0.0)
    m = rows(conn, "SELECT * FROM metrics_daily")[0]
    assert (m["acceptance_rate"], m["tool_rejected"], m["day"]) == (0.0, 1, "2025-09-03")


def test_subagents_sidechain_and_multiedit(tmp_path):
    """5c0375b4: Task calls on lines 12 (input validation error, line 15), 13 and 25
    (both succeed: 2 subagents); 8 tool calls on sidechain lines 18–38; errors on lines 15,
    33 and 46; MultiEdit (line 49) patch has 64 '+' and 36 '-' lines; one user prompt
    (line 1; line 2 is meta, lines 16 and 26 are subagent prompts)."""
    sid = "5c0375b4-57a5-4f26-b12d-d022ee4e51b7"
    conn = refreshed(tmp_path, transcript_envelopes(DEMO / f"{sid}.jsonl"))
    s = rows(conn, "SELECT * FROM sessions")[0]
    assert (s["tool_calls"], s["tool_errors"], s["subagents"], s["prompts"]) == (21, 3, 2, 1)
    assert rows(conn, "SELECT count(*) AS n FROM tool_calls WHERE is_sidechain = 1")[0]["n"] == 8
    assert (s["edits_accepted"], s["lines_added"], s["lines_removed"]) == (1, 64, 36)


def test_write_that_creates_a_file_counts_its_content_lines(tmp_path):
    """de3b8b19 line 3: Write hello.sh with content '#!/bin/bash\\necho "Hello world"\\n':
    structuredPatch is empty (a create), so lines added = its 2 newline-terminated lines
    (the privacy summary's count, the same in every mode; issue 9 item 12)."""
    conn = refreshed(tmp_path, transcript_envelopes(
        PROJECTS / "-tmp-tmp74wiyiny" / "de3b8b19-5bc0-4a2a-934a-1b6806567e25.jsonl"))
    edit = rows(conn, "SELECT * FROM file_edits")[0]
    assert (edit["is_create"], edit["lines_added"], edit["lines_removed"]) == (1, 2, 0)
    assert edit["file_ext"] == ".sh"


def test_call_without_result_is_pending_until_newer_data(tmp_path):
    """d3ad4cdc: 59 tool_use blocks, 58 results; the last Bash (line 137) never got one.
    Alone, nothing newer exists: pending. With the whole fixture tree (data up to 2026) it
    has had its 10 minutes: interrupted."""
    sid = "d3ad4cdc-5657-435d-98fa-0035d53e383d"
    (tmp_path / "one").mkdir()
    conn = refreshed(tmp_path / "one", transcript_envelopes(MUSIC / f"{sid}.jsonl"))
    assert by_status(conn, sid)["pending"] == 1
    (tmp_path / "all").mkdir()
    envs = [e for p in sorted(PROJECTS.glob("*/*.jsonl")) for e in transcript_envelopes(p)]
    conn = refreshed(tmp_path / "all", envs)
    counts = by_status(conn, sid)
    assert counts.get("pending") is None and counts["interrupted"] == 1
    assert sum(counts.values()) == 59


def test_hook_only_session_with_permission_request_and_no_outcome(tmp_path):
    """a-conte 2d9402ea (hooks only). Bash toolu_01DnGm has only a PostToolUse (its
    PreToolUse was logged without ids), ToolSearch toolu_017etz has Pre and Post, and
    mcp__plugin_playwright_playwright__browser_install has a PreToolUse, a PermissionRequest
    and then SessionEnd: refused. Six logged events carry no session_id at all."""
    logs = {n: json.loads((ACONTE_LOGS / f"{n}.json").read_text())
            for n in ("pre_tool_use", "post_tool_use", "permission_request", "notification",
                      "session_end")}
    ordered = [*logs["pre_tool_use"][:2], *logs["permission_request"][:4],
               logs["post_tool_use"][0], logs["pre_tool_use"][2], logs["post_tool_use"][1],
               logs["pre_tool_use"][3], logs["permission_request"][4],
               logs["notification"][0], logs["session_end"][0]]
    envs = [hook_envelope(p, t) for p, t in
            zip(ordered, spaced("2026-03-26T20:20:00.000Z", len(ordered), 2.0), strict=True)]
    conn = store(tmp_path / "telemetry.db", envs)
    stats = refresh_all(conn)
    assert stats.sessions.events_without_session == 6
    calls = {c["tool_name"]: c for c in rows(conn, "SELECT * FROM tool_calls")}
    assert set(calls) == {"Bash", "ToolSearch",
                          "mcp__plugin_playwright_playwright__browser_install"}
    assert calls["Bash"]["status"] == "success" and calls["Bash"]["latency_ms"] is None
    assert calls["ToolSearch"]["status"] == "success"
    assert calls["ToolSearch"]["latency_ms"] == 2000.0  # Pre→Post, 2 s apart
    mcp = calls["mcp__plugin_playwright_playwright__browser_install"]
    assert (mcp["status"], mcp["error_class"], mcp["permission_requested"]) == \
        ("rejected", "permission_denied", 1)
    assert mcp["mcp_server"] == "plugin_playwright_playwright"
    s = rows(conn, "SELECT * FROM sessions")[0]
    assert s["end_reason"] == "other"
    assert s["project_path"] == "/Users/a_conte/dev/openclaw-agents"


def test_whole_fixture_tree_totals_and_checks(tmp_path):
    """All 15 transcripts: sessions = one per file's session id (15); tool calls = distinct
    tool_use ids = 30+59+7+0+17+12+21+167+2+4+1+0+39+13+2 = 374 (counted per file above)."""
    envs = [e for p in sorted(PROJECTS.glob("*/*.jsonl")) for e in transcript_envelopes(p)]
    conn = refreshed(tmp_path, envs)
    assert rows(conn, "SELECT count(*) AS n FROM sessions")[0]["n"] == 15
    assert rows(conn, "SELECT count(*) AS n FROM tool_calls")[0]["n"] == 374
    for rule in (integrity.no_negative_latency, integrity.tool_call_sessions_exist,
                 integrity.session_counts_match_rows, integrity.metric_sums_match_rows,
                 integrity.tokens_match_token_usage):
        passed, details = rule(conn)
        assert passed, (rule.__name__, details)
    for table in integrity.KEYS:
        assert integrity.unique_keys(conn, table)[0], table


@pytest.mark.parametrize("mode", ["full", "strict"])
def test_privacy_modes_give_the_same_outcomes(tmp_path, mode):
    """The refusal/interrupt phrases and patch line counts survive every privacy mode."""
    sid = "fed8ce56-bc79-401f-a83e-af084253362f"
    conn = refreshed(tmp_path, transcript_envelopes(MUSIC / f"{sid}.jsonl", mode))
    assert by_status(conn, sid) == {"success": 5, "rejected": 1, "interrupted": 1}
    (tmp_path / "d").mkdir()
    conn = refreshed(tmp_path / "d", transcript_envelopes(DOCTACON, mode))
    s = rows(conn, "SELECT * FROM sessions")[0]
    assert (s["lines_added"], s["lines_removed"], s["prompts"]) == (4, 2, 2)


def test_a_session_opened_with_a_slash_command_is_titled_as_typed(tmp_path):
    """5c0375b4 (claude-code-viewer's demo, no summary line) starts with `/orchestrator
    @CLAUDE.md を…`, which Claude Code writes as <command-message>/<command-name>/
    <command-args> markup (line 1)."""
    path = DEMO / "5c0375b4-57a5-4f26-b12d-d022ee4e51b7.jsonl"
    conn = refreshed(tmp_path, transcript_envelopes(path))
    (title,) = [r["title"] for r in rows(conn, "SELECT title FROM sessions")]
    assert title.startswith("/orchestrator @CLAUDE.md "), title
    assert "<command" not in title
