"""The team rollups: plain SQL over the published facts, each rebuilt in one transaction.

Days are in the team's timezone (``BLUEPLANE_TEAM_TIMEZONE``, default UTC): usage is
published per quarter hour, so its days are exact in any zone; sessions count on the day
they started; tool facts keep the laptop's UTC day. Rates use the laptop's definitions
(docs/metrics.md): error rate = errors ÷ (success + errors), acceptance = accepted ÷
(accepted + rejected); percentiles are exact over every published latency (linear
interpolation, as on the laptop), never averages of per-laptop percentiles.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from blueplane_pipeline.analytics import metrics
from blueplane_pipeline.team.schema import SCHEMA

S = SCHEMA
_TOKENS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
_LOCAL_DAY = "(to_timestamp({col} / 1000.0) AT TIME ZONE %(tz)s)::date"


def _stored(rate_sql: str) -> str:
    """A rate from ``analytics.metrics`` (the one home of every formula), rounded as the
    laptop stores it."""
    return f"round(({rate_sql})::numeric, {metrics.STORED_DIGITS})::double precision"


USAGE_DAILY = f"""
INSERT INTO {S}.team_usage_daily
SELECT {_LOCAL_DAY.format(col="quarter_start_ms")}, developer, project, model,
       count(DISTINCT device_id), sum(messages),
       {", ".join(f"sum({c})" for c in _TOKENS)},
       sum({" + ".join(_TOKENS)}), sum(cost_usd)
FROM {S}.usage_facts GROUP BY 1, 2, 3, 4
"""

ACTIVITY_DAILY = f"""
INSERT INTO {S}.team_activity_daily
SELECT (started_at AT TIME ZONE %(tz)s)::date, developer, project, count(*), sum(prompts),
       sum(active_s), sum(tool_calls), sum(tool_errors), sum(tool_rejected),
       sum(tool_interrupted),
       {_stored(metrics.error_rate_sql("sum(tool_errors)", "sum(tool_success)"))},
       sum(edits_accepted), sum(edits_rejected),
       {_stored(metrics.acceptance_rate_sql("sum(edits_accepted)", "sum(edits_rejected)"))},
       sum(lines_added), sum(lines_removed), sum(cost_usd)
FROM {S}.session_facts GROUP BY 1, 2, 3
"""

TOOL_DAILY = f"""
WITH counts AS (
    SELECT day, tool_name, count(DISTINCT developer) AS developers, sum(calls) AS calls,
           sum(success) AS success, sum(errors) AS errors, sum(rejected) AS rejected,
           sum(interrupted) AS interrupted
    FROM {S}.tool_facts GROUP BY 1, 2
), latencies AS (
    SELECT day, tool_name,
           percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY l) AS p
    FROM {S}.tool_facts, unnest(latencies_ms) AS l GROUP BY 1, 2
)
INSERT INTO {S}.team_tool_daily
SELECT c.day, c.tool_name, c.developers, c.calls, c.success, c.errors, c.rejected,
       c.interrupted, {_stored(metrics.error_rate_sql("c.errors", "c.success"))},
       round(l.p[1]::numeric, 3)::double precision, round(l.p[2]::numeric, 3)::double precision
FROM counts c LEFT JOIN latencies l USING (day, tool_name)
"""

# Outliers, each rule with its thresholds in plain sight, over the 30 days up to the
# latest day with usage: a developer-day costing >= 3x the median developer-day (and at
# least $1); a developer whose error rate is >= 2x the team's (>= 20 executed calls); a
# developer whose edit acceptance is >= 0.2 below the team's (>= 10 decided edits).
DEV_ERROR_RATE = metrics.error_rate_sql("errors", "success")
DEV_ACCEPTANCE = metrics.acceptance_rate_sql("accepted", "rejected")
OUTLIERS = f"""
WITH bounds AS (SELECT max(day) AS last_day FROM {S}.team_usage_daily),
dev_days AS (
    SELECT day, developer, sum(cost_usd) AS cost FROM {S}.team_usage_daily, bounds
    WHERE day > last_day - 30 GROUP BY 1, 2
), median AS (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY cost) AS m FROM dev_days
), dev AS (
    SELECT s.developer, sum(s.tool_errors) AS errors, sum(s.tool_success) AS success,
           sum(s.tool_success + s.tool_errors) AS executed,
           sum(s.edits_accepted) AS accepted, sum(s.edits_rejected) AS rejected,
           sum(s.edits_accepted + s.edits_rejected) AS decided
    FROM {S}.session_facts s, bounds
    WHERE (s.started_at AT TIME ZONE %(tz)s)::date > last_day - 30 GROUP BY 1
), team AS (
    SELECT {metrics.error_rate_sql("sum(errors)", "sum(success)")} AS error_rate,
           {metrics.acceptance_rate_sql("sum(accepted)", "sum(rejected)")} AS acceptance
    FROM dev
)
INSERT INTO {S}.team_outliers
SELECT md5('cost_day|' || developer || '|' || day), 'cost_day', developer, day, cost, m,
       format('cost $%%s on %%s is %%sx the median developer-day ($%%s)',
              round(cost::numeric, 2), day, round((cost / m)::numeric, 1), round(m::numeric, 2))
FROM dev_days, median WHERE m > 0 AND cost >= 3 * m AND cost >= 1
UNION ALL
SELECT md5('error_rate|' || developer), 'error_rate', developer, NULL,
       {DEV_ERROR_RATE}, team.error_rate,
       format('tool error rate %%s vs the team''s %%s over %%s executed calls',
              round(({DEV_ERROR_RATE})::numeric, 3),
              round(team.error_rate::numeric, 3), executed)
FROM dev, team
WHERE executed >= 20 AND team.error_rate > 0 AND {DEV_ERROR_RATE} >= 2 * team.error_rate
UNION ALL
SELECT md5('acceptance|' || developer), 'acceptance', developer, NULL,
       {DEV_ACCEPTANCE}, team.acceptance,
       format('edit acceptance %%s vs the team''s %%s over %%s decided edits',
              round(({DEV_ACCEPTANCE})::numeric, 3),
              round(team.acceptance::numeric, 3), decided)
FROM dev, team
WHERE decided >= 10 AND {DEV_ACCEPTANCE} <= team.acceptance - 0.2
"""

# What each rollup must add up to: the same sums over the facts it is built from.
FACT_TOTALS = {
    "team_usage_daily": (f"SELECT count(*), coalesce(sum(messages), 0),"
                         f" {', '.join(f'coalesce(sum({c}), 0)' for c in _TOKENS)},"
                         f" coalesce(sum(cost_usd), 0) FROM {S}.usage_facts"),
    "team_activity_daily": (f"SELECT count(*), coalesce(sum(prompts), 0),"
                            " coalesce(sum(tool_calls), 0), coalesce(sum(edits_accepted), 0),"
                            f" coalesce(sum(cost_usd), 0) FROM {S}.session_facts"),
    "team_tool_daily": (f"SELECT coalesce(sum(calls), 0), coalesce(sum(errors), 0),"
                        f" coalesce(sum(cardinality(latencies_ms)), 0) FROM {S}.tool_facts"),
}
ROLLUP_TOTALS = {
    "team_usage_daily": (f"SELECT NULL, coalesce(sum(messages), 0),"
                         f" {', '.join(f'coalesce(sum({c}), 0)' for c in _TOKENS)},"
                         f" coalesce(sum(cost_usd), 0) FROM {S}.team_usage_daily"),
    "team_activity_daily": (f"SELECT coalesce(sum(sessions), 0), coalesce(sum(prompts), 0),"
                            " coalesce(sum(tool_calls), 0), coalesce(sum(edits_accepted), 0),"
                            f" coalesce(sum(cost_usd), 0) FROM {S}.team_activity_daily"),
    "team_tool_daily": (f"SELECT coalesce(sum(calls), 0), coalesce(sum(errors), 0), NULL"
                        f" FROM {S}.team_tool_daily"),
}
KEYS = {"team_usage_daily": ("day", "developer", "project", "model"),
        "team_activity_daily": ("day", "developer", "project"),
        "team_tool_daily": ("day", "tool_name"), "team_outliers": ("outlier_id",),
        "session_facts": ("device_id", "session_key"),
        "usage_facts": ("device_id", "quarter_start_ms", "platform", "model", "project"),
        "tool_facts": ("device_id", "day", "platform", "tool_name")}
BUILDS = {"team_usage_daily": USAGE_DAILY, "team_activity_daily": ACTIVITY_DAILY,
          "team_tool_daily": TOOL_DAILY, "team_outliers": OUTLIERS}


@dataclass
class RollupStats:
    rollup: str
    rows: int
    facts_version: int
    seconds: float


def _numbers(row: tuple) -> list:
    return [None if v is None else (float(v) if isinstance(v, float) else int(v)) for v in row]


def rebuild(conn: Any, rollup: str, tz: str = "UTC") -> RollupStats:
    """Replace ``rollup`` from the facts in one REPEATABLE READ transaction, recording the
    facts version and totals it was built from (the checks compare against them)."""
    t0 = time.perf_counter()
    conn.set_session(isolation_level="REPEATABLE READ")
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT version FROM {S}.facts_version")
            version = cur.fetchone()[0]
            cur.execute(f"DELETE FROM {S}.{rollup}")
            cur.execute(BUILDS[rollup], {"tz": tz})
            cur.execute(f"SELECT count(*) FROM {S}.{rollup}")
            rows = cur.fetchone()[0]
            totals = None
            if rollup in FACT_TOTALS:
                cur.execute(FACT_TOTALS[rollup])
                totals = _numbers(cur.fetchone())
            cur.execute(
                f"INSERT INTO {S}.rollup_builds (rollup, facts_version, facts_totals, timezone)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (rollup) DO UPDATE SET"
                " facts_version = EXCLUDED.facts_version, facts_totals = EXCLUDED.facts_totals,"
                " timezone = EXCLUDED.timezone, built_at = now()",
                (rollup, version, json.dumps(totals), tz))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.set_session(isolation_level="READ COMMITTED")
    return RollupStats(rollup, rows, version, time.perf_counter() - t0)


def in_snapshot(conn: Any, work: Callable[[Any], Any]) -> Any:
    """Run read-only ``work(cursor)`` in one REPEATABLE READ snapshot."""
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with conn.cursor() as cur:
            return work(cur)
    finally:
        conn.rollback()
        conn.set_session(isolation_level="READ COMMITTED", readonly=False)
