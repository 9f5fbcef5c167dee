"""Cost parity with ccusage 20.0.24 ``--offline`` for every kind of model name it prices.

The transcripts under ``fixtures/pricing/`` name models through gateways
(``openrouter/anthropic/…``, ``bedrock/us.anthropic.…``), bare non-Anthropic ids priced
from the models.dev snapshot or ccusage's built-ins, dated / ``@`` / dotted spellings,
built-in aliases, unknown names, ``speed: "fast"``, 1-hour cache writes, both long-context
rules and DeepSeek's dated and peak-hour prices; ccusage's own JSON over the same files is
the expected answer. Checked through the real ``token_usage`` table and the in-memory path,
per (UTC day, model) and per (session, model): tokens exactly, cost to 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.read.usage import query_rows, rows_from_events
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.usage import reports
from blueplane_pipeline.usage.store import refresh
from tests._usage import store, tokens, transcript_envelopes

TREE = Path(__file__).parents[1] / "fixtures" / "pricing" / "claude_home"
UTC = ZoneInfo("UTC")


def expected(report: str) -> dict:
    return json.loads((TREE.parent / f"ccusage-20.0.24-{report}.json").read_text())


def same_cost(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= 1e-6 * abs(theirs) + 1e-12


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    path = tmp_path_factory.mktemp("pricing") / "telemetry.db"
    store(path, transcript_envelopes(TREE))
    conn = open_db(path)
    refresh(conn, load_price_table())
    yield conn
    conn.close()


def assert_breakdowns(ours: dict, theirs: dict, label: str) -> None:
    assert tokens(ours) == tokens(theirs), label
    assert same_cost(ours["totalCost"], theirs["totalCost"]), label
    assert sorted(ours["modelsUsed"]) == sorted(theirs["modelsUsed"]), label
    mine = {b["modelName"]: b for b in ours["modelBreakdowns"]}
    other = {b["modelName"]: b for b in theirs["modelBreakdowns"]}
    assert set(mine) == set(other), label
    for name, b in other.items():
        assert tokens(mine[name]) == tokens(b), (label, name)
        assert same_cost(mine[name]["cost"], b["cost"]), (
            label,
            name,
            mine[name]["cost"],
            b["cost"],
        )
        assert mine[name].get("missingPricing") == b.get("missingPricing"), (label, name)


@pytest.mark.parametrize("origin", ["table", "events"])
def test_daily_costs_equal_ccusage_per_day_and_model(conn, origin):
    rows = (
        query_rows(conn, "day", tz=UTC)
        if origin == "table"
        else rows_from_events(conn, load_price_table())
    )
    ours = reports.period_report(rows, "daily", UTC)
    theirs = expected("daily")
    assert [d["date"] for d in ours["daily"]] == [d["date"] for d in theirs["daily"]]
    for mine, other in zip(ours["daily"], theirs["daily"], strict=True):
        assert_breakdowns(mine, other, other["date"])
    assert tokens(ours["totals"]) == tokens(theirs["totals"])
    assert same_cost(ours["totals"]["totalCost"], theirs["totals"]["totalCost"])
    assert ours["totals"]["unpricedModels"] == theirs["totals"]["unpricedModels"]


def test_session_costs_equal_ccusage_per_session_and_model(conn):
    ours = reports.session_report(query_rows(conn, "session"))
    theirs = expected("session")
    mine = {s["sessionId"]: s for s in ours["sessions"]}
    assert set(mine) == {s["sessionId"] for s in theirs["sessions"]}
    for other in theirs["sessions"]:
        assert_breakdowns(mine[other["sessionId"]], other, other["sessionId"])


def test_a_reprice_keeps_fast_and_scheduled_prices(conn):
    """Re-pricing stored rows (after a price-list change) must give the same costs: it
    needs each row's speed and time, not only its tokens."""
    from blueplane_pipeline.usage.store import _reprice

    before = dict(conn.execute("SELECT dedup_key, cost_usd FROM token_usage"))
    conn.execute("BEGIN IMMEDIATE")
    _reprice(conn, load_price_table())
    conn.execute("COMMIT")
    after = dict(conn.execute("SELECT dedup_key, cost_usd FROM token_usage"))
    assert after == pytest.approx(before, rel=1e-12)
    fast = conn.execute("SELECT count(*) FROM token_usage WHERE speed = 'fast'").fetchone()[0]
    assert fast > 0
