"""Exact latency percentiles of tool calls over any window (never averages of per-day
percentiles): every matching ``tool_calls.latency_ms`` is read and sorted."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from blueplane_pipeline.analytics.metrics import p50_p95_p99
from blueplane_pipeline.read.sql import Where

LATENCIES = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
NO_LATENCIES: dict[str, float | None] = dict.fromkeys(LATENCIES)


def latency_percentiles(values: Iterable[float]) -> dict[str, float | None]:
    """p50/p95/p99 of ``values`` (``analytics.metrics``, as the rollups use)."""
    return dict(zip(LATENCIES, p50_p95_p99(values), strict=True))


def grouped_latencies(conn: sqlite3.Connection, key_sql: str, where: Where,
                      ) -> dict[object, dict[str, float | None]]:
    """p50/p95/p99 of the matching tool calls per ``key_sql`` (measured faster here than
    two-pass rank selection inside SQLite)."""
    cond = where.sql() + (" AND " if where.parts else " WHERE ") + "latency_ms IS NOT NULL"
    if key_sql == "''":  # one group: skip the key column (a third less to transfer)
        values = [v for (v,) in conn.execute(f"SELECT latency_ms FROM tool_calls{cond}",
                                             where.params)]
        return {"": latency_percentiles(values)} if values else {}
    buckets: dict[object, list[float]] = {}
    for key, value in conn.execute(f"SELECT {key_sql}, latency_ms FROM tool_calls{cond}",
                                   where.params):
        buckets.setdefault(key, []).append(value)
    return {key: latency_percentiles(values) for key, values in buckets.items()}
