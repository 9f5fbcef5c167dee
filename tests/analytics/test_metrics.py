"""The one metrics module: each rate's Python and SQL forms agree, undefined rates are
None/NULL, and every percentile in the code base is the same interpolated one."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from blueplane_pipeline.analytics import metrics
from blueplane_pipeline.ingest.drain import IngestStats


def sql_value(expression: str, **columns: int) -> float | None:
    """``expression`` evaluated by SQLite over a one-row table holding ``columns``."""
    conn = sqlite3.connect(":memory:")
    names = ", ".join(columns)
    conn.execute(f"CREATE TABLE t ({names})")
    conn.execute(f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})",
                 list(columns.values()))
    return conn.execute(f"SELECT {expression} FROM t").fetchone()[0]


COUNTS = (0, 1, 3, 7)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(COUNTS, COUNTS)))
def test_sql_and_python_forms_of_each_rate_agree(a, b):
    assert sql_value(metrics.error_rate_sql("e", "s"), e=a, s=b) == metrics.error_rate(a, b)
    assert sql_value(metrics.acceptance_rate_sql("x", "r"), x=a, r=b) == \
        metrics.acceptance_rate(a, b)
    assert sql_value(metrics.interruption_rate_sql("i", "c"), i=a, c=b) == \
        metrics.interruption_rate(a, b)
    assert sql_value(metrics.user_modified_share_sql("m", "x"), m=a, x=b) == \
        metrics.user_modified_share(a, b)


def test_daily_rates_sql_matches_daily_rates():
    row = {"tool_calls": 12, "tool_success": 6, "tool_errors": 2, "tool_interrupted": 3,
           "edits_accepted": 4, "edits_rejected": 1, "edits_user_modified": 1}
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE metrics_daily ({', '.join(row)})")
    half = {k: v // 2 for k, v in row.items()}
    for r in (half, {k: row[k] - half[k] for k in row}):  # sums over two rows
        conn.execute(f"INSERT INTO metrics_daily VALUES ({', '.join('?' * len(r))})",
                     list(r.values()))
    expected = metrics.daily_rates(row)
    assert expected == {"error_rate": 0.25, "interruption_rate": 0.25,
                        "acceptance_rate": 0.8, "user_modified_share": 0.25}
    for name, expression in metrics.DAILY_RATES_SQL.items():
        assert conn.execute(f"SELECT {expression} FROM metrics_daily").fetchone()[0] == \
            expected[name]


def test_rates_are_undefined_without_a_divisor_and_rounded_on_request():
    assert metrics.daily_rates({}) == dict.fromkeys(
        ("error_rate", "interruption_rate", "acceptance_rate", "user_modified_share"))
    assert metrics.acceptance_rate(2, 1, digits=4) == 0.6667
    assert metrics.error_rate(1, 2) == 1 / 3  # errors ÷ (success + errors)


def test_productivity_figures():
    row = {"active_s": 1800.0, "edits_accepted": 3, "lines_added": 10, "lines_removed": 2,
           "cost_usd": 1.5}
    assert metrics.productivity(row) == {
        "active_hours": 0.5, "accepted_edits_per_active_hour": 6.0,
        "lines_per_active_hour": 24.0, "cost_per_accepted_edit": 0.5}
    idle = dict(row, active_s=0.0, edits_accepted=0)
    assert metrics.productivity(idle)["accepted_edits_per_active_hour"] is None
    assert metrics.productivity(idle)["cost_per_accepted_edit"] is None


def test_one_percentile_method_ingest_batches_included():
    values = [4.0, 1.0, 3.0, 2.0]  # interpolated: p50 = 2.5 (nearest rank would say 2 or 3)
    assert metrics.percentile(values, 50) == 2.5
    assert metrics.p50_p95_p99(values) == (2.5, 3.85, 3.97)
    stats = IngestStats(batch_ms=list(values))
    assert stats.percentile_ms(0.5) == metrics.percentile(values, 50)
    assert stats.as_dict()["batch_p95_ms"] == metrics.percentile(values, 95)
    assert IngestStats().percentile_ms(0.5) is None
