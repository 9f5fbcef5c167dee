"""Every analytics table and column, described once.

Readers build on these descriptions: ``docs/metrics.md`` is rendered from ``TABLE_DOCS``
(``python -m blueplane_pipeline.storage.analytics_docs > docs/metrics.md``) and Datasette's
metadata repeats them. Column names are a contract with the readers: add, never rename.
"""

from __future__ import annotations

from blueplane_pipeline.core.platforms import assistant_names
from blueplane_pipeline.storage.otel_docs import OTEL_ANALYTICS_COLUMNS


def _one_of(names: tuple[str, ...]) -> str:
    """``a``, ``b`` or ``c``, each in backticks."""
    quoted = [f"`{n}`" for n in names]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


# The assistants of the registry (``core.platforms``), as the tables' ``platform`` holds them.
PLATFORM = _one_of(assistant_names())
STATUS = (
    "`success` (the tool ran and returned), `error` (it ran and failed), `rejected` "
    "(permission refused by the user or by a permission rule), `interrupted` (the user "
    "interrupted it, or it started and no outcome arrived: the session moved on or 10 minutes "
    "of data passed), `pending` (started, no outcome yet)"
)
TIMES = "ISO-8601 UTC, millisecond precision"
DAY = "UTC calendar day (YYYY-MM-DD)"
IDLE = "sum of the gaps between consecutive events, each gap capped at 5 minutes"
EDIT_TOOLS = "Edit, MultiEdit, Write, NotebookEdit (Claude Code) and Cursor file edits"

TABLE_DOCS: dict[str, dict] = {
    "sessions": {
        "description": (
            "One row per session: a Claude Code session id or a Cursor conversation id. Built "
            "from hook events and transcript lines merged (no double counting), tokens and "
            "cost joined from token_usage."
        ),
        "columns": {
            "session_id": "Claude Code session id / Cursor conversation (composer) id",
            "platform": PLATFORM,
            "sources": "Which captures contributed, comma-separated: hook, transcript, cursor_db",
            "project_path": "Working directory of the session (Cursor: first workspace root)",
            "project_name": "Last component of project_path",
            "git_branch": "Git branch reported by the transcript (last non-empty value)",
            "models": "Models that answered, comma-separated, most used first (no <synthetic>)",
            "primary_model": "The model with the most assistant messages ('' if unknown)",
            "title": "Session summary line / Cursor composer name, else the first prompt "
                     "(first 120 characters; per privacy mode)",
            "started_at": f"First event of the session ({TIMES})",
            "ended_at": f"Last event of the session ({TIMES})",
            "day": f"{DAY} of started_at",
            "duration_s": "ended_at − started_at, seconds",
            "active_s": f"Active time, seconds: over each turn, {IDLE}; summed over turns",
            "events": "Raw events of the session (all sources)",
            "prompts": "User prompts (turns); tool results, meta lines, interrupt markers and "
                       "subagent prompts are not prompts",
            "assistant_messages": "Distinct assistant API messages (message.id), main thread",
            "tool_calls": "Tool calls, one per tool_use_id (subagent calls included)",
            "tool_success": "Tool calls with status success",
            "tool_errors": "Tool calls with status error",
            "tool_rejected": "Tool calls with status rejected",
            "tool_interrupted": "Tool calls with status interrupted",
            "tool_pending": "Tool calls with status pending",
            "edits_accepted": f"Edit-tool calls that executed ({EDIT_TOOLS})",
            "edits_rejected": "Edit-tool calls that were rejected",
            "edits_user_modified": "Accepted edits the user modified before accepting",
            "acceptance_rate": "edits_accepted ÷ (edits_accepted + edits_rejected); "
                               "NULL without decisions",
            "lines_added": "Lines added by executed edits ('+' lines of structuredPatch; a "
                           "Write that creates a file: the lines of its content)",
            "lines_removed": "Lines removed by executed edits ('-' lines of structuredPatch)",
            "input_tokens": "Input tokens, from token_usage (0 if absent)",
            "output_tokens": "Output tokens, from token_usage",
            "cache_creation_tokens": "Cache-write tokens, from token_usage",
            "cache_read_tokens": "Cache-read tokens, from token_usage",
            "cost_usd": "Cost in USD, from token_usage",
            "compactions": "Context compactions: the most of PreCompact hooks, compact_boundary "
                           "lines and compact-summary lines seen (one compaction leaves all three)",
            "subagents": "Subagents run: Task/Agent tool calls that completed or were "
                         "interrupted (a refused or failed call started none)",
            "interrupts": "User interrupts ('[Request interrupted by user…' lines, or "
                          "interrupted tool failures from hooks when no transcript)",
            "end_reason": "SessionEnd reason from the hook, if any",
        },
    },
    "tool_calls": {
        "description": (
            "One row per tool call (tool_use_id). PreToolUse/PostToolUse hooks and transcript "
            "tool_use/tool_result blocks of the same call merge into one row; calls without an "
            "id (old hooks, Cursor) are paired by session, tool and input."
        ),
        "columns": {
            "tool_use_id": "The tool_use id; for calls without one, 'hook:'/'cursor:' plus the "
                           "id of the event that started it. An id found in several sessions "
                           "(a history copied by resume/fork) belongs to the session that "
                           "started it first",
            "session_id": "Session of the call",
            "platform": PLATFORM,
            "project_path": "Session's project path",
            "model": "Model of the assistant message that asked for the call, else the "
                     "session's primary model ('' if unknown)",
            "turn_index": "Turn (prompt) the call belongs to (turns.turn_index); NULL before "
                          "the first prompt",
            "tool_name": "Tool name as the assistant called it",
            "mcp_server": "MCP server for `mcp__<server>__<tool>` tools, else NULL",
            "is_edit": f"1 for edit tools ({EDIT_TOOLS})",
            "is_sidechain": "1 when a subagent made the call",
            "started_at": f"When the call started: PreToolUse, else the tool_use line ({TIMES})",
            "ended_at": f"When the outcome arrived ({TIMES}); NULL while pending",
            "day": f"{DAY} of started_at (ended_at if the start is unknown)",
            "latency_ms": "Executed calls (success, error) only: duration_ms when the source "
                          "gives it, else outcome time − start time; NULL when unknown, for "
                          "rejected/interrupted/pending calls, or if the clocks disagree "
                          "(never negative)",
            "latency_source": "`duration_ms`, `hook` (Pre→Post hook times) or `transcript` "
                              "(tool_use→tool_result line times)",
            "status": STATUS,
            "error_class": "For errors/refusals: user_rejected, permission_denied, "
                           "user_interrupted, input_validation, file_not_read, not_found, "
                           "string_not_found, http_error, timeout, exit_code, no_outcome "
                           "(interrupted: no outcome ever arrived), redacted (the error text "
                           "was not kept by "
                           "the privacy mode), other",
            "error_text": "First 200 characters of the error (per privacy mode)",
            "file_path": "File the tool touched (per privacy mode: relative or extension only)",
            "file_ext": "Extension of file_path, lower-case with the dot ('' if none)",
            "lines_added": "Lines added if the call executed an edit",
            "lines_removed": "Lines removed if the call executed an edit",
            "user_modified": "1 if the user modified the proposed edit before accepting",
            "permission_requested": "1 if a PermissionRequest was seen for the call",
            "sources": "Captures that saw the call: hook, transcript, hook+transcript, cursor_db",
        },
    },
    "turns": {
        "description": (
            "The conversation timeline: one row per user prompt with the assistant responses, "
            "tool calls and outcomes that followed it until the next prompt."
        ),
        "columns": {
            "session_id": "Session of the turn",
            "turn_index": "0-based position of the prompt in the session",
            "platform": PLATFORM,
            "project_path": "Session's project path",
            "model": "Model of the first assistant message of the turn, else the session's "
                     "primary model",
            "day": f"{DAY} of started_at",
            "started_at": f"When the prompt was submitted ({TIMES})",
            "ended_at": f"Last event of the turn ({TIMES})",
            "duration_s": "ended_at − started_at, seconds",
            "active_s": f"Active time of the turn, seconds: {IDLE}",
            "prompt_text": "The prompt as stored per privacy mode (standard: secrets redacted; "
                           "strict: NULL)",
            "prompt_chars": "Length of the prompt in characters",
            "prompt_source": "Capture that gave the prompt: hook, transcript or cursor_db",
            "assistant_messages": "Assistant API messages in the turn (main thread)",
            "tool_calls": "Tool calls started in the turn",
            "tool_errors": "…of which status error",
            "tool_rejected": "…of which status rejected",
            "tool_interrupted": "…of which status interrupted",
            "edits_accepted": "Executed edit-tool calls in the turn",
            "edits_rejected": "Rejected edit-tool calls in the turn",
            "lines_added": "Lines added by the turn's executed edits",
            "lines_removed": "Lines removed by the turn's executed edits",
            "interrupted": "1 if the user interrupted during the turn",
            "timeline": "JSON list, in time order, of what followed the prompt: "
                        "{t, kind: text|tool|interrupt|compact|decision|outcome, …}; tool "
                        "items carry tool_use_id, tool, status, latency_ms, file; decision/"
                        "outcome items are blueplane-mcp tracking events (event_id, text, "
                        "outcome, decision_id)",
        },
    },
    "file_edits": {
        "description": f"One row per edit-tool call ({EDIT_TOOLS}), with its outcome and churn.",
        "columns": {
            "edit_id": "tool_use_id of the edit call",
            "session_id": "Session of the edit",
            "platform": PLATFORM,
            "project_path": "Session's project path",
            "model": "Model that proposed the edit",
            "ts": f"When the edit was proposed ({TIMES})",
            "day": f"{DAY} of ts",
            "tool_name": "Edit, MultiEdit, Write, NotebookEdit, cursor_edit",
            "file_path": "File edited (per privacy mode)",
            "file_ext": "Extension of the file, lower-case with the dot",
            "is_create": "1 for a Write that created the file",
            "status": STATUS,
            "accepted": "1 if the edit executed, 0 if rejected, NULL otherwise (error, "
                        "interrupted, pending)",
            "user_modified": "1 if the user modified the edit before accepting",
            "lines_added": "Lines added (executed edits only)",
            "lines_removed": "Lines removed (executed edits only)",
            "reedited_within_5m": "Churn: 1 if the same file was edited again by an executed "
                                  "edit in the same session within 5 minutes after this one",
        },
    },
    "metrics_daily": {
        "description": (
            "Daily rollup per day × platform × project × model. Tool calls, turns and edits "
            "count on their own day and model; sessions on their start day and primary model; "
            "tokens and cost from token_usage rows of that day and model. Percentiles are exact "
            "over the group's calls; for a window of several days compute them from tool_calls."
        ),
        "columns": {
            "day": DAY,
            "platform": PLATFORM,
            "project_path": "Project path ('' if unknown)",
            "project_name": "Last component of project_path",
            "model": "Model ('' if unknown)",
            "sessions": "Sessions that started that day with this primary model",
            "prompts": "User prompts (turns)",
            "active_s": "Active time of those turns, seconds",
            "tool_calls": "Tool calls",
            "tool_success": "…with status success",
            "tool_errors": "…with status error",
            "tool_rejected": "…with status rejected",
            "tool_interrupted": "…with status interrupted",
            "tool_pending": "…with status pending",
            "error_rate": "tool_errors ÷ executed calls (success + error); NULL if none executed",
            "interruption_rate": "tool_interrupted ÷ tool_calls",
            "edits_accepted": "Executed edit-tool calls",
            "edits_rejected": "Rejected edit-tool calls",
            "edits_user_modified": "Accepted edits the user modified first",
            "acceptance_rate": "edits_accepted ÷ (edits_accepted + edits_rejected); NULL if none",
            "user_modified_share": "edits_user_modified ÷ edits_accepted; NULL if none",
            "lines_added": "Lines added by executed edits",
            "lines_removed": "Lines removed by executed edits",
            "latency_p50_ms": "Median tool latency (exact; linear interpolation between ranks)",
            "latency_p95_ms": "95th percentile tool latency (exact)",
            "latency_p99_ms": "99th percentile tool latency (exact)",
            "input_tokens": "Input tokens (token_usage)",
            "output_tokens": "Output tokens (token_usage)",
            "cache_creation_tokens": "Cache-write tokens (token_usage)",
            "cache_read_tokens": "Cache-read tokens (token_usage)",
            "total_tokens": "Sum of the four token counts",
            "cost_usd": "Cost in USD (token_usage)",
        },
    },
    "tool_metrics": {
        "description": "Daily rollup per day × tool, over every platform and project.",
        "columns": {
            "day": DAY,
            "tool_name": "Tool name",
            "mcp_server": "MCP server of the tool, else NULL",
            "sessions": "Distinct sessions that called the tool",
            "calls": "Tool calls",
            "success": "…with status success",
            "errors": "…with status error",
            "rejected": "…with status rejected",
            "interrupted": "…with status interrupted",
            "pending": "…with status pending",
            "error_rate": "errors ÷ (success + errors); NULL if none executed",
            "rejection_rate": "rejected ÷ calls",
            "interruption_rate": "interrupted ÷ calls",
            "acceptance_rate": "Edit tools: success ÷ (success + rejected); NULL otherwise",
            "lines_added": "Lines added by the tool's executed edits",
            "lines_removed": "Lines removed by the tool's executed edits",
            "latency_p50_ms": "Median latency (exact)",
            "latency_p95_ms": "95th percentile latency (exact)",
            "latency_p99_ms": "99th percentile latency (exact)",
            "latency_max_ms": "Slowest call",
        },
    },
    "insights": {
        "description": (
            "Findings computed from the tables above, each with its evidence and the SQL that "
            "reproduces it. Recomputed on every refresh; windows are relative to the newest "
            "day in the data, not the wall clock."
        ),
        "columns": {
            "insight_id": "Stable id: kind + subject",
            "kind": "tool_error_jump, tool_error_rate, slow_tool, file_type_rejections, "
                    "repeated_compaction, costly_session",
            "severity": "`info` or `warn`",
            "subject": "What the finding is about (tool, file extension, session id)",
            "title": "One line for people",
            "detail": "How the number was computed, with its inputs",
            "metric_value": "The measured value (rate, ms, count or USD)",
            "baseline_value": "What it is compared with, if anything",
            "evidence": "JSON: the counts and ids the finding rests on",
            "query": "SQL over these tables that reproduces the evidence",
            "window_start": "First day considered",
            "window_end": "Last day considered",
        },
    },
    "analytics_state": {
        "description": "Watermarks of the analytics refresh (internal).",
        "columns": {
            "name": "State key, e.g. sessions.last_seq",
            "value": "Its value",
        },
    },
    "analytics_dirty_days": {
        "description": "Days whose rollups must be recomputed (internal work queue).",
        "columns": {"day": DAY},
    },
}


# What OpenTelemetry adds to the session tables (documented with the OTel tables).
for _table, _columns in OTEL_ANALYTICS_COLUMNS.items():
    TABLE_DOCS[_table]["columns"].update(_columns)


def render_markdown() -> str:
    """``docs/metrics.md``: the definitions, then every table and column."""
    out = [
        "# Metrics and analytics tables",
        "",
        "Generated from `blueplane_pipeline/storage/analytics_docs.py` "
        "(`python -m blueplane_pipeline.storage.analytics_docs > docs/metrics.md`); "
        "Datasette shows the same descriptions.",
        "",
        "## Definitions",
        "",
        "- **tool call**: one per `tool_use_id`, whichever captures saw it (hooks, transcript). "
        f"Status: {STATUS}.",
        "  Outcome precedence: a transcript `tool_result` (its `is_error` and Claude Code's "
        "fixed refusal/interrupt phrases) > PostToolUse / PostToolUseFailure / PermissionDenied "
        "hooks > no outcome. With no outcome, a call that saw a PermissionRequest is `rejected` "
        "once the session moved on (refused by a rule, as in `-p` runs), otherwise "
        "`interrupted`; 'moved on' = a later prompt, Stop or SessionEnd, or 10 minutes of newer "
        "data anywhere in the database.",
        "- **latency** = `duration_ms` when the source gives it (PostToolUse `duration_ms`, "
        "else the transcript's `toolUseResult.durationMs`), else outcome time − start time "
        "(hook Pre→Post times, else transcript tool_use→tool_result line times); kept for "
        "executed calls (success, error) only, so percentiles describe the tools, not the user.",
        "- **acceptance rate** (edit tools: " + EDIT_TOOLS + ") = accepted ÷ (accepted + "
        "rejected), accepted = the edit executed. **user-modified share** = accepted edits the "
        "user modified ÷ accepted edits.",
        "- **error rate** = errors ÷ executed calls (success + error); **interruption rate** = "
        "interrupted ÷ calls. Every rate is a ratio of summed counts (never an average of "
        "rates), NULL when its divisor is 0; the formulas live in "
        "`blueplane_pipeline/analytics/metrics.py` (Python and SQL forms).",
        "- **percentiles** (p50, p95, p99) are exact over all values in the group "
        "(linear interpolation between the closest ranks, like numpy's default), never "
        "averages of averages. Over a multi-day window, compute them from `tool_calls.latency_ms`"
        " (`blueplane_pipeline.analytics.metrics.percentile`, the one method everything uses, "
        "ingest's batch timings included; `blueplane_percentile` in Datasette).",
        f"- **active time** = {IDLE}, per turn, summed.",
        "- **day** = UTC calendar day.",
        "- **lines added/removed** = '+'/'-' lines of the edit's structuredPatch (as Claude Code "
        "counts lines_of_code); a Write that creates a file adds the lines of its content.",
        "",
        "## How the tables are refreshed",
        "",
        "Dagster assets in group `analytics` "
        "(`blueplane_pipeline/orchestration/assets/analytics.py`): "
        "`session_tables` (sessions, tool_calls, turns, file_edits), `daily_rollups` "
        "(metrics_daily, tool_metrics) and `insights`, refreshed automatically after each "
        "ingest, and in-process by `blueplane refresh` (`--full` to rebuild).",
        "",
        "- Incremental: events after the watermark `analytics_state.sessions.last_seq` are "
        "read; every session they touch is rebuilt from all its events and replaces its rows; "
        "the days those rows were or are on are queued in `analytics_dirty_days`, and only "
        "those days are rolled up again. A full rebuild (config `full_rebuild: true`) gives "
        "identical tables (tested).",
        "- Tokens and cost are never computed here: they are summed from `token_usage` (one "
        "row per deduplicated API message); days and sessions whose totals differ from it are "
        "corrected on every refresh.",
        "- Asset checks: unique keys, no negative latency, every tool call's session exists, "
        "session and daily sums equal their rows, token totals equal `token_usage`.",
        "- Privacy: the tables hold what the privacy mode kept. In `standard` mode tool output "
        "is summarised, but a failed tool's first line is kept (secrets redacted), so errors "
        "are still classified; in `strict` mode no error text is kept (`error_class` = "
        "`redacted` unless a hook reported it). Refusal and interrupt phrases are kept in "
        "every mode.",
        "",
    ]
    for table, doc in TABLE_DOCS.items():
        out += [f"## `{table}`", "", doc["description"], "", "| column | meaning |",
                "|---|---|"]
        for col, desc in doc["columns"].items():
            cell = desc.replace("|", "\\|")
            out.append(f"| `{col}` | {cell} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render_markdown(), end="")
