"""Asset checks on the analytics tables (rules in ``blueplane_pipeline.analytics.integrity``).

Blocking where bad rows would spread: a failed check on tool_calls/sessions stops the
rollups and insights built from them in the same run.
"""

from collections.abc import Callable

import dagster as dg

from blueplane_pipeline.analytics import integrity
from blueplane_pipeline.orchestration.resources import BlueplaneResource


def _run(blueplane: BlueplaneResource, rule: Callable, *args) -> dg.AssetCheckResult:
    conn = blueplane.reader()
    if conn is None:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no database yet"})
    try:
        passed, details = rule(conn, *args)
    finally:
        conn.close()
    return dg.AssetCheckResult(passed=passed, metadata={k: dg.MetadataValue.json(v)
                                                        if isinstance(v, (dict, list)) else v
                                                        for k, v in details.items()})


def _check(asset: str, name: str, description: str, rule: Callable,
           *args) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset, name=name, blocking=True, description=description)
    def check(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
        return _run(blueplane, rule, *args)

    return check


ANALYTICS_CHECKS = [
    *(_check(table, f"{table}_unique_keys",
             f"One row per {', '.join(integrity.KEYS[table])} in {table}.",
             integrity.unique_keys, table)
      for table in ("sessions", "tool_calls", "turns", "file_edits", "metrics_daily",
                    "tool_metrics")),
    _check("tool_calls", "tool_calls_no_negative_latency",
           "No tool call (or turn) has a negative latency/duration.",
           integrity.no_negative_latency),
    _check("sessions", "tool_call_sessions_exist",
           "Every tool call and turn belongs to a session in sessions.",
           integrity.tool_call_sessions_exist),
    _check("sessions", "session_counts_match_rows",
           "sessions.tool_calls/prompts/lines equal the rows in tool_calls/turns.",
           integrity.session_counts_match_rows),
    _check("metrics_daily", "metric_sums_match_rows",
           "metrics_daily and tool_metrics sum to their row tables.",
           integrity.metric_sums_match_rows),
    _check("metrics_daily", "tokens_match_token_usage",
           "Token and cost totals of metrics_daily and sessions equal token_usage's.",
           integrity.tokens_match_token_usage),
]
