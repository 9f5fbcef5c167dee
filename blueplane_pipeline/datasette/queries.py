"""SQL shown to people in Datasette: canned queries and the dashboard's charts.

Kept apart from the wiring in ``datasette_config`` so the SQL can be read (and tested) on
its own. Percentiles use ``blueplane_percentile`` (exact, from ``datasette_plugins``), and
rates are recomputed from counts with the expressions of ``analytics.metrics`` (never
averaged), so a canned query shows the numbers the CLI and the MCP server report.
"""

from __future__ import annotations

from blueplane_pipeline.analytics.metrics import DAILY_RATES_SQL, user_acceptance_rate_sql

_ACCEPTANCE = DAILY_RATES_SQL["acceptance_rate"]

CANNED_QUERIES: dict[str, dict] = {
    "acceptance_by_day": {
        "title": "Edit acceptance by day",
        "description": "Accepted ÷ (accepted + rejected) edit-tool calls per UTC day, and the "
                       "share of accepted edits the user modified first.",
        "sql": f"""
select day,
  sum(edits_accepted) as accepted,
  sum(edits_rejected) as rejected,
  round({_ACCEPTANCE}, 4) as acceptance_rate,
  round({DAILY_RATES_SQL["user_modified_share"]}, 4) as user_modified_share
from metrics_daily
group by day
order by day desc""",
    },
    "slowest_tools": {
        "title": "Slowest tools",
        "description": "Exact latency percentiles per tool over tool calls since :since "
                       "(YYYY-MM-DD; empty for all time), slowest p95 first.",
        "sql": """
select tool_name,
  count(*) as calls,
  count(latency_ms) as timed_calls,
  round(blueplane_percentile(latency_ms, 50), 1) as p50_ms,
  round(blueplane_percentile(latency_ms, 95), 1) as p95_ms,
  round(blueplane_percentile(latency_ms, 99), 1) as p99_ms,
  max(latency_ms) as max_ms
from tool_calls
where (:since = '' or day >= :since)
group by tool_name
having timed_calls > 0
order by p95_ms desc
limit 50""",
    },
    "most_expensive_sessions": {
        "title": "Most expensive sessions",
        "description": "Sessions by cost (USD, from token_usage), with their size.",
        "sql": """
select session_id, project_name, primary_model, started_at,
  round(duration_s / 60.0, 1) as minutes,
  prompts, tool_calls,
  input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens as tokens,
  round(cost_usd, 4) as cost_usd,
  title
from sessions
order by cost_usd desc
limit 50""",
    },
    "errors_by_class": {
        "title": "Errors by class",
        "description": "Failed, rejected and interrupted tool calls grouped by error class.",
        "sql": """
select coalesce(error_class, 'unclassified') as error_class,
  status,
  count(*) as calls,
  count(distinct session_id) as sessions,
  group_concat(distinct tool_name) as tools,
  max(coalesce(started_at, ended_at)) as last_seen
from tool_calls
where status in ('error', 'rejected', 'interrupted')
group by 1, 2
order by calls desc""",
    },
    "session_timeline": {
        "title": "Session timeline",
        "description": "Prompts and tool calls of one session (:session_id) in time order.",
        "sql": """
select t, kind, turn_index, tool_name, status, latency_ms, detail from (
  select started_at as t, 'prompt' as kind, turn_index, null as tool_name, null as status,
    null as latency_ms, substr(prompt_text, 1, 300) as detail
  from turns where session_id = :session_id
  union all
  select coalesce(started_at, ended_at), 'tool', turn_index, tool_name, status, latency_ms,
    coalesce(error_class || ': ' || error_text, file_path)
  from tool_calls where session_id = :session_id
)
order by t, kind desc""",
    },
    "mcp_decisions": {
        "title": "Decisions and outcomes recorded over MCP",
        "description": "track_decision / log_outcome events (platform mcp), newest first, "
                       "each outcome next to the decision it names.",
        "sql": """
select e.seq, e.ts, e.session_id, e.event_type,
  json_extract(blueplane_event(e.seq), '$.payload.decision') as decision,
  json_extract(blueplane_event(e.seq), '$.payload.outcome') as outcome,
  json_extract(blueplane_event(e.seq), '$.payload.decision_id') as decision_id,
  coalesce(json_extract(blueplane_event(e.seq), '$.payload.rationale'),
           json_extract(blueplane_event(e.seq), '$.payload.notes')) as why,
  e.event_id_hex
from raw_events_view e
where e.platform = 'mcp'
order by e.seq desc
limit 500""",
    },
    "session_raw_events": {
        "title": "Raw events of a session, decoded",
        "description": "Every stored event of :session_id with its JSON envelope "
                       "(blueplane_event(seq)), oldest first.",
        "sql": """
select seq, ts, platform, source, event_type, blueplane_event(seq) as envelope
from raw_events_view
where session_id = :session_id
order by seq
limit 1000""",
    },
}

# Dashboard filters, applied with datasette-dashboards' optional [[ ... ]] clauses.
_DAY_FILTERS = "[[ and day >= :date_start ]] [[ and day <= :date_end ]]"
_PROJECT_FILTER = "[[ and project_name = :project ]]"
_TOOL_PROJECT_FILTER = (
    "[[ and project_path in (select project_path from sessions where project_name = :project) ]]"
)


def _line(x: str, y: str, y_title: str, color: str | None = None, fmt: str = "",
          scale: dict | None = None) -> dict:
    enc: dict = {
        "x": {"field": x, "type": "temporal", "timeUnit": "utcyearmonthdate", "title": "day",
              "axis": {"format": "%b %d", "labelOverlap": True}},
        "y": {"field": y, "type": "quantitative", "title": y_title,
              "scale": scale or {"type": "linear"},
              **({"axis": {"format": fmt}} if fmt else {})},
    }
    if color:
        enc["color"] = {"field": color, "type": "nominal"}
    return {"mark": {"type": "line", "tooltip": True}, "encoding": enc}


DASHBOARD_CHARTS: dict[str, dict] = {
    "sessions-count": {
        "title": "Sessions",
        "library": "metric",
        "query": f"select count(*) as sessions from sessions where 1 = 1 {_DAY_FILTERS} "
                 f"{_PROJECT_FILTER}",
        "display": {"field": "sessions"},
    },
    "acceptance-overall": {
        "title": "Edit acceptance",
        "library": "metric",
        "query": f"select coalesce(round(100 * {_ACCEPTANCE}, 1) || '%', 'n/a') as rate "
                 f"from metrics_daily where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER}",
        "display": {"field": "rate"},
    },
    "cost-total": {
        "title": "Cost",
        "library": "metric",
        "query": "select printf('%.2f', coalesce(sum(cost_usd), 0)) as cost from metrics_daily "
                 f"where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER}",
        "display": {"field": "cost", "prefix": "$"},
    },
    "acceptance-trend": {
        "title": "Edit acceptance rate per day",
        "library": "vega-lite",
        "query": f"select day, {_ACCEPTANCE} as acceptance_rate, "
                 "sum(edits_accepted) as accepted, sum(edits_rejected) as rejected "
                 "from metrics_daily "
                 f"where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER} group by day "
                 "having accepted + rejected > 0 order by day",
        "display": _line("day", "acceptance_rate", "acceptance rate", fmt="%",
                         scale={"type": "linear", "domain": [0, 1]}),
    },
    "tool-latency-p95": {
        "title": "Tool latency p95 per day (ms), busiest tools",
        "library": "vega-lite",
        # Floored at 1 ms for the log axis (instant tools report 0).
        "query": "select day, tool_name, max(1, blueplane_percentile(latency_ms, 95)) as p95_ms "
                 "from tool_calls where latency_ms is not null "
                 f"{_DAY_FILTERS} {_TOOL_PROJECT_FILTER} and tool_name in (select tool_name "
                 "from tool_calls where latency_ms is not null "
                 f"{_DAY_FILTERS} {_TOOL_PROJECT_FILTER} group by tool_name "
                 "order by count(*) desc limit 6) group by day, tool_name order by day",
        "display": _line("day", "p95_ms", "p95 latency (ms, log scale)", color="tool_name",
                         scale={"type": "log"}),
    },
    "tokens-per-day": {
        "title": "Tokens per day",
        "library": "vega-lite",
        "query": "select day, sum(input_tokens) as input, sum(output_tokens) as output, "
                 "sum(cache_creation_tokens) as cache_write, sum(cache_read_tokens) as "
                 f"cache_read from metrics_daily where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER} "
                 "group by day order by day",
        "display": {
            "transform": [{"fold": ["input", "output", "cache_write", "cache_read"],
                           "as": ["kind", "tokens"]}],
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "day", "type": "ordinal", "title": "day"},
                "y": {"field": "tokens", "type": "quantitative", "stack": True},
                "color": {"field": "kind", "type": "nominal"},
            },
        },
    },
    "cost-per-day": {
        "title": "Cost per day (USD)",
        "library": "vega-lite",
        "query": "select day, round(sum(cost_usd), 4) as cost_usd from metrics_daily "
                 f"where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER} group by day order by day",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "day", "type": "ordinal", "title": "day"},
                "y": {"field": "cost_usd", "type": "quantitative", "title": "USD"},
            },
        },
    },
    "sessions-per-project": {
        "title": "Sessions per project",
        "library": "vega-lite",
        "query": "select case project_name when '' then '(unknown)' else project_name end as "
                 f"project, count(*) as sessions from sessions where 1 = 1 {_DAY_FILTERS} "
                 f"{_PROJECT_FILTER} group by project order by sessions desc limit 15",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "y": {"field": "project", "type": "nominal", "sort": "-x", "title": None},
                "x": {"field": "sessions", "type": "quantitative"},
            },
        },
    },
}

_NO_OTEL = "'no OTel data'"
_USER_RATE = user_acceptance_rate_sql("sum(user_accepts)", "sum(user_decisions)")
# What only Claude Code's OpenTelemetry export knows (docs/collector.md); NULL columns mean
# no OTel data, and the cards say so instead of showing 0.
DASHBOARD_CHARTS.update({
    "otel-user-acceptance": {
        "title": "User-decided acceptance (OTel)",
        "library": "metric",
        "query": f"select case when sum(user_decisions) is null then {_NO_OTEL} "
                 "when sum(user_decisions) = 0 then 'no decision by a person' "
                 f"else round(100 * {_USER_RATE}, 1) || '%' end as rate from metrics_daily "
                 f"where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER}",
        "display": {"field": "rate"},
    },
    "otel-lines": {
        "title": "Lines of code (OTel)",
        "library": "metric",
        "query": "select coalesce('+' || sum(otel_lines_added) || ' / -' || "
                 f"sum(otel_lines_removed), {_NO_OTEL}) as lines from metrics_daily "
                 f"where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER}",
        "display": {"field": "lines"},
    },
    "otel-active-time": {
        "title": "Active time: you / the CLI (OTel)",
        "library": "metric",
        "query": "select case when sum(otel_active_user_s) is null and "
                 f"sum(otel_active_cli_s) is null then {_NO_OTEL} else "
                 "printf('%.1f h / %.1f h', coalesce(sum(otel_active_user_s), 0) / 3600.0, "
                 "coalesce(sum(otel_active_cli_s), 0) / 3600.0) end as active from "
                 f"metrics_daily where 1 = 1 {_DAY_FILTERS} {_PROJECT_FILTER}",
        "display": {"field": "active"},
    },
})

DASHBOARD_LAYOUT = [
    ["sessions-count", "acceptance-overall", "cost-total"],
    ["acceptance-trend", "acceptance-trend", "tool-latency-p95"],
    ["tokens-per-day", "cost-per-day", "sessions-per-project"],
    ["otel-user-acceptance", "otel-lines", "otel-active-time"],
]

DASHBOARD_FILTERS: dict[str, dict] = {
    "date_start": {"name": "From (UTC day)", "type": "date"},
    "date_end": {"name": "To (UTC day)", "type": "date"},
    "project": {"name": "Project", "type": "select",
                "query": "select distinct project_name from sessions where project_name != '' "
                         "order by 1"},
}
