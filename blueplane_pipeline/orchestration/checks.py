"""Asset checks on the analytics tables (rules in ``blueplane_pipeline.analytics.integrity``).

Blocking where bad rows would spread: a failed check on tool_calls/sessions stops the
rollups and insights built from them in the same run.
"""

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from blueplane_pipeline.analytics import integrity
from blueplane_pipeline.orchestration.resources import BlueplaneResource


@dataclass(frozen=True)
class CheckSpec:
    asset: str
    name: str
    description: str
    rule: Callable
    args: tuple = ()


def _outcome(conn: sqlite3.Connection | None, spec: CheckSpec) -> tuple[bool, dict]:
    if conn is None:
        return True, {"note": "no database yet"}
    passed, details = spec.rule(conn, *spec.args)
    return passed, {k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
                    for k, v in details.items()}


def _check(spec: CheckSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=spec.asset, name=spec.name, blocking=True,
                    description=spec.description)
    def check(blueplane: BlueplaneResource) -> dg.AssetCheckResult:
        conn = blueplane.reader()
        try:
            passed, metadata = _outcome(conn, spec)
        finally:
            if conn is not None:
                conn.close()
        return dg.AssetCheckResult(passed=passed, metadata=metadata)

    return check


CHECK_SPECS = [
    *(CheckSpec(table, f"{table}_unique_keys",
                f"One row per {', '.join(integrity.KEYS[table])} in {table}.",
                integrity.unique_keys, (table,))
      for table in ("sessions", "tool_calls", "turns", "file_edits", "metrics_daily",
                    "tool_metrics")),
    CheckSpec("tool_calls", "tool_calls_no_negative_latency",
              "No tool call (or turn) has a negative latency/duration.",
              integrity.no_negative_latency),
    CheckSpec("sessions", "tool_call_sessions_exist",
              "Every tool call and turn belongs to a session in sessions.",
              integrity.tool_call_sessions_exist),
    CheckSpec("sessions", "session_counts_match_rows",
              "sessions.tool_calls/prompts/lines equal the rows in tool_calls/turns.",
              integrity.session_counts_match_rows),
    CheckSpec("metrics_daily", "metric_sums_match_rows",
              "metrics_daily and tool_metrics sum to their row tables.",
              integrity.metric_sums_match_rows),
    CheckSpec("metrics_daily", "tokens_match_token_usage",
              "Token and cost totals of metrics_daily and sessions equal token_usage's.",
              integrity.tokens_match_token_usage),
]
ANALYTICS_CHECKS = [_check(spec) for spec in CHECK_SPECS]


def evaluate_checks(conn: sqlite3.Connection | None) -> list[dg.AssetCheckEvaluation]:
    """Every check's evaluation, as a long-lived run reports them (``live_refresh``)."""
    out = []
    for spec in CHECK_SPECS:
        passed, metadata = _outcome(conn, spec)
        out.append(dg.AssetCheckEvaluation(asset_key=dg.AssetKey(spec.asset),
                                           check_name=spec.name, passed=passed,
                                           metadata=metadata))
    return out
