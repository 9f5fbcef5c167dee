"""Asset checks on the analytics tables (rules in ``blueplane_pipeline.analytics.integrity``).

Blocking where bad rows would spread: a failed check on tool_calls/sessions stops the
rollups and insights built from them in the same run.
"""


from collections.abc import Callable

import dagster as dg

from blueplane_pipeline.analytics import integrity
from blueplane_pipeline.resources import BlueplaneResource
from blueplane_pipeline.storage.db import connect


def _run(blueplane: BlueplaneResource, rule: Callable, *args) -> dg.AssetCheckResult:
    conn = connect(blueplane.db_path, readonly=True)
    try:
        passed, details = rule(conn, *args)
    finally:
        conn.close()
    return dg.AssetCheckResult(passed=passed, metadata={k: dg.MetadataValue.json(v)
                                                        if isinstance(v, (dict, list)) else v
                                                        for k, v in details.items()})


def _unique_check(table: str, blocking: bool) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=table, name=f"{table}_unique_keys", blocking=blocking,
                    description=f"One row per {', '.join(integrity.KEYS[table])} in {table}.")
    def check(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
        return _run(blueplane, integrity.unique_keys, table)

    return check


@dg.asset_check(asset="tool_calls", blocking=True,
                description="No tool call (or turn) has a negative latency/duration.")
def tool_calls_no_negative_latency(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
    return _run(blueplane, integrity.no_negative_latency)


@dg.asset_check(asset="sessions", blocking=True,
                description="Every tool call and turn belongs to a session in sessions.")
def tool_call_sessions_exist(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
    return _run(blueplane, integrity.tool_call_sessions_exist)


@dg.asset_check(asset="sessions", blocking=True,
                description="sessions.tool_calls/prompts/lines equal the rows in tool_calls/turns.")
def session_counts_match_rows(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
    return _run(blueplane, integrity.session_counts_match_rows)


@dg.asset_check(asset="metrics_daily", blocking=True,
                description="metrics_daily and tool_metrics sum to their row tables.")
def metric_sums_match_rows(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
    return _run(blueplane, integrity.metric_sums_match_rows)


@dg.asset_check(asset="metrics_daily", blocking=True,
                description="Token and cost totals of metrics_daily and sessions equal "
                            "token_usage's.")
def tokens_match_token_usage(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
    return _run(blueplane, integrity.tokens_match_token_usage)


ANALYTICS_CHECKS = [
    _unique_check("sessions", True),
    _unique_check("tool_calls", True),
    _unique_check("turns", True),
    _unique_check("file_edits", True),
    _unique_check("metrics_daily", True),
    _unique_check("tool_metrics", True),
    tool_calls_no_negative_latency,
    tool_call_sessions_exist,
    session_counts_match_rows,
    metric_sums_match_rows,
    tokens_match_token_usage,
]
