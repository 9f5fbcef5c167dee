"""``token_usage``: one row per deduplicated assistant API message, priced (thin wiring over
``blueplane_pipeline.usage``)."""

import dagster as dg

from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.usage.store import refresh


@dg.asset(
    key="token_usage",
    group_name="usage",
    deps=[dg.AssetKey(["raw_events"])],
    kinds={"sqlite"},
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "Token usage and cost per Claude Code API message, deduplicated like ccusage 20.0.24 "
        "(message.id + requestId, larger copy wins, main thread over sidechain), priced "
        "from the shipped LiteLLM list or `blueplane pricing update`. Incremental: reads raw "
        "transcript events past the stored seq watermark; re-prices when the list changes."
    ),
)
def token_usage(blueplane: BlueplaneResource) -> dg.MaterializeResult:
    conn = blueplane.writer()
    try:
        metadata = refresh_token_usage(conn, load_price_table())
    finally:
        conn.close()
    return dg.MaterializeResult(metadata=metadata)


def refresh_token_usage(conn, prices) -> dict:
    """Refresh ``token_usage`` on ``conn``; return its materialization metadata."""
    stats = refresh(conn, prices)
    total = conn.execute("SELECT count(*) FROM token_usage").fetchone()[0]
    return {
        "rows_changed": stats.rows_changed,
        "rows_repriced": stats.rows_repriced,
        "rows_total": total,
        "events_read": stats.events_read,
        "usage_lines": stats.records,
        "seq_from": stats.watermark_from,
        "seq_to": stats.watermark_to,
        "seconds": dg.MetadataValue.float(round(stats.seconds, 4)),
    }

