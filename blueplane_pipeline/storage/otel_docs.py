"""Descriptions of the tables decoded from OpenTelemetry exports (``sources/otel``)."""

from __future__ import annotations

from blueplane_pipeline.storage.schema_otel import OTEL_DAILY_COLUMNS

TIMES = "ISO-8601 UTC"
_SESSION = "The assistant's session id (OTel `session.id`; = the hooks' session_id)"
_KEY = (
    "The event's key within its session: the CLI's `event.sequence`, or `h:` + a hash "
    "when the exporter sends none"
)
_SEQ = (
    "`event.sequence`: Claude Code numbers its log events 0..N per session, so a gap "
    "is a lost batch"
)
_PLATFORM = "The assistant that exported it, from the resource's `service.name`"

OTEL_TABLE_DOCS: dict[str, dict] = {
    "otel_log_events": {
        "title": "OTel log events",
        "description": (
            "Every OpenTelemetry log event (Claude Code's `api_request`, `tool_decision`, "
            "`tool_result`, `user_prompt`, hook events, ...), one row per (session_id, "
            "event_key): an export received twice is stored once. Text attributes pass the "
            "privacy filter."
        ),
        "columns": {
            "session_id": _SESSION,
            "event_key": _KEY,
            "sequence": _SEQ,
            "event_name": "The event (`api_request`, `tool_decision`, ...), without the "
            "`claude_code.` prefix",
            "ts": f"When it happened ({TIMES})",
            "ts_ms": "When it happened, epoch milliseconds",
            "prompt_id": "The prompt it belongs to (OTel `prompt.id`; = the hooks' prompt_id)",
            "platform": _PLATFORM,
            "service": "The resource's `service.name`",
            "attributes": "The event's other attributes, JSON, numbers coerced",
            "raw_seq": "raw_events.seq of the export it came in",
        },
    },
    "api_requests": {
        "title": "API requests (OTel)",
        "description": (
            "One row per `api_request` event: the assistant's own accounting of each model "
            "call (exact tokens, cost, duration, time to first token). Compare with "
            "token_usage (from transcripts) in `blueplane usage reconcile`."
        ),
        "columns": {
            "session_id": _SESSION,
            "event_key": _KEY,
            "sequence": _SEQ,
            "prompt_id": "The prompt that led to the call",
            "request_id": "The API's request id (= token_usage.request_id)",
            "model": "Model the call used",
            "input_tokens": "Input tokens",
            "output_tokens": "Output tokens",
            "cache_read_tokens": "Tokens read from the prompt cache",
            "cache_creation_tokens": "Tokens written to the prompt cache",
            "cache_creation_5m_tokens": "Of those, with a 5-minute lifetime",
            "cache_creation_1h_tokens": "Of those, with a 1-hour lifetime",
            "cost_usd": "Cost as the assistant computed it, USD",
            "duration_ms": "Duration of the call, milliseconds",
            "ttft_ms": "Time to the first token, milliseconds",
            "ts": f"When the call ended ({TIMES})",
            "ts_ms": "When the call ended, epoch milliseconds",
            "platform": _PLATFORM,
        },
    },
    "tool_decisions": {
        "title": "Tool decisions (OTel)",
        "description": (
            "One row per `tool_decision` event: whether a tool call was allowed, and who "
            "decided (configuration, a hook, or the user once or for good). Joins "
            "tool_calls on tool_use_id."
        ),
        "columns": {
            "session_id": _SESSION,
            "event_key": _KEY,
            "sequence": _SEQ,
            "prompt_id": "The prompt the call belongs to",
            "tool_use_id": "The tool call (= tool_calls.tool_use_id)",
            "tool_name": "Tool name",
            "decision": "`accept` or `reject`",
            "source": "Who decided: `config`, `hook`, `user_temporary`, `user_permanent`, "
            "`user_reject`, `user_abort` (strings of the 2.1.328 binary)",
            "user_decided": "1 when a person decided (source `user_*`), 0 for config/hooks",
            "ts": f"When it was decided ({TIMES})",
            "ts_ms": "When it was decided, epoch milliseconds",
            "platform": _PLATFORM,
        },
    },
    "otel_metric_points": {
        "title": "OTel metric points",
        "description": (
            "Every OpenTelemetry metric data point, keyed by (metric, series, start_ns, "
            "time_ns) with its temporality. DELTA points add up; for CUMULATIVE ones only "
            "the latest value per series and start counts (summing them overcounts)."
        ),
        "columns": {
            "metric": "Metric name (`claude_code.lines_of_code.count`, ...)",
            "series": "Hash of the point's and its resource's attributes",
            "start_ns": "Start of the point's interval, epoch nanoseconds",
            "time_ns": "Time of the point, epoch nanoseconds",
            "temporality": "1 = DELTA (the increment), 2 = CUMULATIVE (the running total), "
            "0 = a gauge",
            "value": "The value",
            "session_id": _SESSION,
            "platform": _PLATFORM,
            "attributes": "The point's attributes, JSON",
            "raw_seq": "raw_events.seq of the export it came in",
        },
    },
    "otel_session_daily": {
        "title": "OTel totals per session and day",
        "description": (
            "What only the OpenTelemetry metrics know, per session and UTC day: lines of "
            "code added and removed, active time (the user's vs the CLI's), edit-tool "
            "decisions; plus the metrics' own cost and token totals. Identical whichever "
            "temporality the assistant exported."
        ),
        "columns": {
            "session_id": _SESSION,
            "day": "UTC day (YYYY-MM-DD)",
            "platform": _PLATFORM,
            "lines_added": "Lines of code added (`lines_of_code.count{type=added}`)",
            "lines_removed": "Lines of code removed",
            "active_time_user_s": "Seconds the user was active (`active_time.total{type=user}`)",
            "active_time_cli_s": "Seconds the CLI was working (`active_time.total{type=cli}`)",
            "edit_decisions": "Edit-tool permission decisions (`code_edit_tool.decision`)",
            "edit_accepts": "Of those, accepted",
            "edit_rejects": "Of those, rejected",
            "metric_cost_usd": "Cost by the `cost.usage` metric, USD",
            "metric_tokens": "Tokens by the `token.usage` metric (all types)",
            "sessions_started": "Session starts by the `session.count` metric",
        },
    },
    "otel_edit_decisions_daily": {
        "title": "OTel edit decisions by tool and language",
        "description": "Edit-tool decisions per session, day, tool, language, decision and "
        "who decided (`code_edit_tool.decision`).",
        "columns": {
            "session_id": _SESSION,
            "day": "UTC day (YYYY-MM-DD)",
            "tool_name": "Edit, Write, NotebookEdit, ...",
            "language": "Language of the file, as the assistant named it",
            "decision": "`accept` or `reject`",
            "source": "Who decided (config, user_temporary, ...)",
            "decisions": "How many",
        },
    },
    "otel_state": {
        "title": "OTel decoding state (internal)",
        "description": "Watermarks of the OTel decoding (raw_events seq).",
        "columns": {"name": "State key", "value": "Its value"},
    },
}


_NULL = " (NULL: no OTel data for it)"
_SESSION_OTEL = {
    "otel_api_requests": "API calls by the assistant's OpenTelemetry `api_request` events" + _NULL,
    "otel_input_tokens": "Input tokens by the OTel events (compare input_tokens, from "
    "transcripts)" + _NULL,
    "otel_output_tokens": "Output tokens by the OTel events" + _NULL,
    "otel_cache_read_tokens": "Cache-read tokens by the OTel events" + _NULL,
    "otel_cache_creation_tokens": "Cache-write tokens by the OTel events" + _NULL,
    "otel_cost_usd": "Cost by the OTel events, as the assistant computed it, USD" + _NULL,
    "otel_lines_added": "Lines of code added, by the OTel `lines_of_code.count` metric" + _NULL,
    "otel_lines_removed": "Lines of code removed, by the OTel metric" + _NULL,
    "otel_active_user_s": "Seconds the user was active (OTel `active_time.total{type=user}`)"
    + _NULL,
    "otel_active_cli_s": "Seconds the CLI was working (OTel `active_time.total{type=cli}`)" + _NULL,
    "user_decisions": "Tool permission decisions a person made (OTel `tool_decision` with "
    "source `user_*`; configuration and hooks excluded)" + _NULL,
    "user_accepts": "Of those, accepted" + _NULL,
    "user_acceptance_rate": "user_accepts / user_decisions: how often the user said yes when "
    "asked" + _NULL,
}
# Columns the OTel join adds to the analytics tables (migration 10); merged into
# ``analytics_docs.TABLE_DOCS``.
OTEL_ANALYTICS_COLUMNS: dict[str, dict[str, str]] = {
    "sessions": _SESSION_OTEL,
    "tool_calls": {
        "decision": "`accept` or `reject`, by the OTel `tool_decision` event for this "
        "tool_use_id" + _NULL,
        "decision_source": "Who decided: config, hook, user_temporary, user_permanent, ..." + _NULL,
        "user_decided": "1 when a person decided, 0 for configuration or a hook" + _NULL,
    },
    "metrics_daily": {
        key: _SESSION_OTEL[key] for key in OTEL_DAILY_COLUMNS
    },
}
OTEL_JOINED = frozenset(c for cols in OTEL_ANALYTICS_COLUMNS.values() for c in cols)
