"""The metrics of a window, whole or grouped, and their change against the window before.

Whole-day windows sum the ``metrics_daily`` rollup; rolling (``<N>h``) windows count the
row-level tables (sessions, turns, tool_calls, token_usage). Rates are recomputed from the
summed counters (``analytics.metrics``); percentiles are exact over the window's calls.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from blueplane_pipeline.analytics.metrics import daily_rates
from blueplane_pipeline.core.times import parse_iso_ms
from blueplane_pipeline.read.connect import BadRequest, require
from blueplane_pipeline.read.filters import CALL_TIME, NO_FILTERS, Filters, add_filters, scoped
from blueplane_pipeline.read.latency import LATENCIES, NO_LATENCIES, grouped_latencies
from blueplane_pipeline.read.periods import Window
from blueplane_pipeline.read.sql import Where
from blueplane_pipeline.read.tools import tool_performance
from blueplane_pipeline.storage.db import existing_tables

GROUP_BYS = ("day", "model", "tool", "project", "platform")

# Summed counters, in the vocabulary of metrics_daily (docs/metrics.md).
COUNTERS = (
    "sessions", "prompts", "active_s", "tool_calls", "tool_success", "tool_errors",
    "tool_rejected", "tool_interrupted", "tool_pending", "edits_accepted", "edits_rejected",
    "edits_user_modified", "lines_added", "lines_removed", "input_tokens", "output_tokens",
    "cache_creation_tokens", "cache_read_tokens", "total_tokens", "cost_usd",
)
RATES = ("error_rate", "interruption_rate", "acceptance_rate", "user_modified_share")
METRICS = COUNTERS + RATES + LATENCIES
# For trend arrows: +1 when more is better, -1 when less is better, 0 when neither.
DIRECTION = {
    "error_rate": -1, "interruption_rate": -1, "tool_errors": -1, "tool_interrupted": -1,
    "tool_rejected": -1, "edits_rejected": -1, "latency_p50_ms": -1, "latency_p95_ms": -1,
    "latency_p99_ms": -1, "acceptance_rate": 1, "edits_accepted": 1, "cost_usd": 0,
    "sessions": 1, "prompts": 1,
}

# Group keys per table: metrics_daily, sessions, turns, tool_calls, token_usage.
_KEYS = {
    None: ("''", "''", "''", "''", "''"),
    "day": ("day", "day", "day", "day", "substr(ts, 1, 10)"),
    "model": ("model", "primary_model", "model", "model", "coalesce(model, '')"),
    "project": ("project_path", "project_path", "project_path", "project_path",
                "coalesce((SELECT s.project_path FROM sessions s"
                " WHERE s.session_id = token_usage.session_id), '')"),
    "platform": ("platform", "platform", "platform", "platform", "platform"),
}


def _with_rates(counters: dict) -> dict:
    """Counters plus the rates of ``docs/metrics.md`` computed from them."""
    return {**counters, **daily_rates(counters)}


def _empty_row() -> dict:
    return dict.fromkeys(COUNTERS, 0)


def aggregate(conn: sqlite3.Connection, window: Window, filters: Filters = NO_FILTERS,
              group_by: str | None = None) -> list[dict]:
    """The metrics of ``window``, one dict per group (a single row when not grouped).

    Keys: ``key`` (the group value) plus every name in ``METRICS``.
    """
    if group_by == "tool":
        return [_tool_as_metrics(r) for r in tool_performance(conn, window, filters)]
    if group_by not in _KEYS:
        raise BadRequest(f"unknown group-by {group_by!r}: use one of {', '.join(GROUP_BYS)}")
    require(conn, "metrics_daily", "tool_calls")
    keys = _KEYS[group_by]
    rows = (_from_rollup(conn, window, filters, keys[0]) if window.whole_days
            else _from_rows(conn, window, filters, keys))
    pcts = grouped_latencies(conn, keys[3], scoped(conn, window, filters, ts_expr=CALL_TIME))
    out = []
    for key in sorted(set(rows) | set(pcts), key=lambda k: (k is None, str(k))):
        row = _with_rates(rows.get(key) or _empty_row())
        row.update(pcts.get(key) or NO_LATENCIES)
        out.append({"key": key, **row})
    if group_by is None and not out:
        out.append({"key": "", **_with_rates(_empty_row()), **NO_LATENCIES})
    return out


def summary(conn: sqlite3.Connection, window: Window, filters: Filters = NO_FILTERS) -> dict:
    """The metrics of ``window`` as one dict (see ``aggregate``)."""
    row = aggregate(conn, window, filters)[0]
    row.pop("key", None)
    return row


def _from_rollup(conn: sqlite3.Connection, window: Window, filters: Filters,
                 key: str) -> dict[object, dict]:
    where = scoped(conn, window, filters)
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in COUNTERS)
    sql = f"SELECT {key}, {sums} FROM metrics_daily{where.sql()} GROUP BY 1"
    return {r[0]: dict(zip(COUNTERS, r[1:], strict=True))
            for r in conn.execute(sql, where.params)}


def _from_rows(conn: sqlite3.Connection, window: Window, filters: Filters,
               keys: tuple[str, ...]) -> dict[object, dict]:
    """Counters from the row-level tables (windows that do not align with days)."""
    rows: dict[object, dict] = {}

    def merge(sql: str, where: Where, names: Sequence[str]) -> None:
        for r in conn.execute(sql + where.sql() + " GROUP BY 1", where.params):
            target = rows.setdefault(r[0], _empty_row())
            for name, value in zip(names, r[1:], strict=True):
                target[name] += value or 0

    where = scoped(conn, window, filters, ts_expr="started_at")
    merge(f"SELECT {keys[1]}, count(*) FROM sessions", where, ("sessions",))
    merge(f"SELECT {keys[2]}, count(*), sum(active_s) FROM turns", where,
          ("prompts", "active_s"))
    merge(
        f"SELECT {keys[3]}, count(*), sum(status = 'success'), sum(status = 'error'),"
        " sum(status = 'rejected'), sum(status = 'interrupted'), sum(status = 'pending'),"
        " sum(is_edit AND status = 'success'), sum(is_edit AND status = 'rejected'),"
        " sum(is_edit AND status = 'success' AND user_modified),"
        " sum(CASE WHEN is_edit AND status = 'success' THEN lines_added END),"
        " sum(CASE WHEN is_edit AND status = 'success' THEN lines_removed END)"
        " FROM tool_calls", scoped(conn, window, filters, ts_expr=CALL_TIME),
        ("tool_calls", "tool_success", "tool_errors", "tool_rejected", "tool_interrupted",
         "tool_pending", "edits_accepted", "edits_rejected", "edits_user_modified",
         "lines_added", "lines_removed"))
    if "token_usage" in existing_tables(conn):
        where = Where()
        if window.start:
            where.add("ts_ms >= ?", parse_iso_ms(window.start))
        if window.end:
            where.add("ts_ms < ?", parse_iso_ms(window.end))
        if filters.platform:
            where.add("platform = ?", filters.platform)
        add_filters(where, conn, Filters(None, filters.project), via_session=True)
        merge(f"SELECT {keys[4]}, sum(input_tokens), sum(output_tokens),"
              " sum(cache_creation_tokens), sum(cache_read_tokens), sum(total_tokens),"
              " sum(cost_usd) FROM token_usage", where,
              ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
               "total_tokens", "cost_usd"))
    return rows


def compare(current: dict, previous: dict | None) -> dict[str, dict]:
    """Per metric: value, previous value, relative change and whether it is good news."""
    out = {}
    for name in METRICS:
        now, before = current.get(name), (previous or {}).get(name)
        change = None
        if now is not None and before not in (None, 0):
            change = (now - before) / abs(before)
        direction = DIRECTION.get(name, 0)
        good = None
        if change and direction:
            good = (change > 0) == (direction > 0)
        delta = now - before if now is not None and before is not None else None
        out[name] = {"value": now, "previous": before, "change": change, "delta": delta,
                     "good": good}
    return out


def _tool_as_metrics(row: dict) -> dict:
    """A ``tool_performance`` row in the vocabulary of ``aggregate``."""
    out = {"key": row["tool_name"], **dict.fromkeys(METRICS)}
    out.update({
        "tool_calls": row["calls"], "tool_success": row["success"],
        "tool_errors": row["errors"], "tool_rejected": row["rejected"],
        "tool_interrupted": row["interrupted"], "tool_pending": row["pending"],
        "error_rate": row["error_rate"], "interruption_rate": row["interruption_rate"],
        "acceptance_rate": row["acceptance_rate"], "lines_added": row["lines_added"],
        "lines_removed": row["lines_removed"],
    })
    out.update({k: row[k] for k in LATENCIES})
    return out
