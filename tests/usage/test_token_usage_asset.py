"""The ``token_usage`` Dagster asset on a real SQLite file: incremental by the raw_events
seq watermark, equal to a one-pass rebuild, re-priced when the price list changes."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from blueplane_pipeline.core import config
from blueplane_pipeline.core.pricing import install_price_list, load_price_table
from blueplane_pipeline.orchestration.assets import ASSETS
from blueplane_pipeline.orchestration.assets.token_usage import token_usage
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.usage.store import refresh
from tests._usage import USAGE_TREE, ccusage, close, store, tokens, transcript_envelopes

COMPARED = ("dedup_key, session_id, project, model, ts_ms, input_tokens, output_tokens,"
            " cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, cost_usd,"
            " cost_source, is_sidechain, source_file, source_line")


def materialize(home) -> dict:
    result = dg.materialize([token_usage],
                            resources={"blueplane": BlueplaneResource(home=str(home))})
    assert result.success
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def table(db) -> list[tuple]:
    conn = open_db(db)
    try:
        return conn.execute(f"SELECT {COMPARED} FROM token_usage ORDER BY dedup_key").fetchall()
    finally:
        conn.close()


def test_asset_is_wired_for_the_definitions():
    assert token_usage in ASSETS
    spec = token_usage.specs_by_key[dg.AssetKey("token_usage")]
    assert spec.group_name == "usage"
    assert [d.asset_key for d in spec.deps] == [dg.AssetKey(["raw_events"])]


def test_incremental_runs_equal_a_rebuild_and_match_ccusage(bp_home, tmp_path):
    envelopes = transcript_envelopes(USAGE_TREE)
    # The later half arrives later: it holds the resumed session that copies earlier
    # history, better copies of messages already stored, and subagent lines.
    first, second = envelopes[: len(envelopes) // 2], envelopes[len(envelopes) // 2:]
    db = config.db_path()
    store(db, first)
    meta1 = materialize(bp_home)
    assert meta1["seq_from"] == 0 and meta1["rows_changed"] == meta1["rows_total"] > 0

    store(db, second)
    meta2 = materialize(bp_home)
    assert meta2["seq_from"] == meta1["seq_to"] and meta2["seq_to"] > meta1["seq_to"]
    assert meta2["events_read"] < len(envelopes)  # only what arrived since the watermark
    assert meta2["rows_changed"] > 0 and meta2["rows_repriced"] == 0

    meta3 = materialize(bp_home)
    assert meta3["rows_changed"] == 0 and meta3["events_read"] == 0

    rebuilt = tmp_path / "rebuilt.db"
    store(rebuilt, envelopes)
    conn = open_db(rebuilt)
    refresh(conn, load_price_table())
    conn.close()
    assert table(db) == table(rebuilt)

    conn = open_db(db)
    sums = conn.execute("SELECT sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens),"
                        " sum(cache_read_tokens), sum(cost_usd) FROM token_usage").fetchone()
    conn.close()
    expected = ccusage(USAGE_TREE, "session")["totals"]
    assert sums[:4] == tokens(expected)
    assert close(sums[4], expected["totalCost"])


def test_a_new_price_list_reprices_computed_costs_only(bp_home, tmp_path):
    store(config.db_path(), transcript_envelopes(USAGE_TREE))
    materialize(bp_home)
    conn = open_db(config.db_path())
    before = dict(conn.execute("SELECT dedup_key, cost_usd FROM token_usage"))
    logged = {k for (k,) in conn.execute(
        "SELECT dedup_key FROM token_usage WHERE cost_source = 'log'")}
    conn.close()
    assert logged  # the legacy project wrote costUSD

    # a list where every price is doubled and the unknown model gets a price
    shipped = json.loads(Path(load_price_table().source).read_text())
    doubled = {k: {f: (v * 2 if f.endswith(("_token", "_cost", "_tokens", "_1hr"))
                       and isinstance(v, float) else v) for f, v in e.items()}
               for k, e in shipped.items()}
    doubled["claude-experimental-zeta"] = {"input_cost_per_token": 1e-06,
                                           "output_cost_per_token": 2e-06}
    new_list = tmp_path / "prices.json"
    new_list.write_text(json.dumps(doubled))
    install_price_list(new_list)

    meta = materialize(bp_home)
    assert meta["rows_repriced"] == len(before) - len(logged)
    conn = open_db(config.db_path())
    after = dict(conn.execute("SELECT dedup_key, cost_usd FROM token_usage"))
    sources = dict(conn.execute("SELECT model, cost_source FROM token_usage"))
    conn.close()
    for key, cost in before.items():
        if key in logged:
            assert after[key] == cost
        elif cost:
            assert after[key] == cost * 2 or abs(after[key] - 2 * cost) < 1e-12
    assert sources["claude-experimental-zeta"] == "computed"


def test_real_import_then_the_asset_equals_ccusage_per_session(redis_home):
    """End to end through the transcript importer (privacy filter, stream, ingest)."""
    from blueplane_pipeline.read.usage import query_rows
    from blueplane_pipeline.sources.run import run_import
    from blueplane_pipeline.usage.reports import session_report

    run_import("claude_code", [USAGE_TREE])
    meta = materialize(redis_home)
    assert meta["rows_total"] > 0
    conn = open_db(config.db_path())
    ours = session_report(query_rows(conn, "session"))
    conn.close()
    expected = ccusage(USAGE_TREE, "session")
    assert [s["sessionId"] for s in ours["sessions"]] == [
        s["sessionId"] for s in expected["sessions"]]
    for mine, theirs in zip(ours["sessions"], expected["sessions"], strict=True):
        assert tokens(mine) == tokens(theirs), theirs["sessionId"]
        assert close(mine["totalCost"], theirs["totalCost"]), theirs["sessionId"]


def test_small_windows_give_the_same_table(bp_home, tmp_path):
    """A first build works through seq windows (one transaction each): the result does
    not depend on where the windows cut (copies of a message may fall in different ones)."""
    envelopes = transcript_envelopes(USAGE_TREE)
    one, many = tmp_path / "one.db", tmp_path / "many.db"
    for db, window in ((one, 10**9), (many, 7)):
        store(db, envelopes)
        conn = open_db(db)
        stats = refresh(conn, load_price_table(), window=window)
        conn.close()
        assert stats.events_read > 0
    assert table(one) == table(many)
