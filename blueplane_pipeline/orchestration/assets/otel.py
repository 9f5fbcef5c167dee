"""OpenTelemetry tables (group ``otel``): raw OTLP exports -> log events, API requests, tool
decisions, metric points, and the per-session daily totals (thin wiring over
``blueplane_pipeline.sources.otel``). One pass writes them all, so one multi-asset."""

import dagster as dg

from blueplane_pipeline.core import config
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.sources.otel.gaps import sequence_gaps
from blueplane_pipeline.sources.otel.store import refresh
from blueplane_pipeline.storage.otel_docs import OTEL_TABLE_DOCS

GROUP = "otel"
TABLES = (
    "otel_log_events",
    "api_requests",
    "tool_decisions",
    "otel_metric_points",
    "otel_session_daily",
    "otel_edit_decisions_daily",
)


def _spec(name: str) -> dg.AssetSpec:
    doc = OTEL_TABLE_DOCS[name]
    return dg.AssetSpec(
        name,
        deps=[dg.AssetKey("raw_events")],
        group_name=GROUP,
        kinds={"sqlite"},
        description=doc["description"],
        automation_condition=dg.AutomationCondition.eager(),
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(col, description=desc) for col, desc in doc["columns"].items()
                ]
            )
        },
    )


OTEL_SPECS = [_spec(name) for name in TABLES]


@dg.multi_asset(specs=OTEL_SPECS, name="otel_tables", can_subset=False)
def otel_tables(context: dg.AssetExecutionContext, blueplane: BlueplaneResource):
    """Exports after the watermark -> rows (idempotent), then the touched sessions' days."""
    conn = blueplane.writer()
    try:
        message, found = refresh_otel_tables(conn)
    finally:
        conn.close()
    context.log.info(message)
    for name, metadata in found.items():
        yield dg.MaterializeResult(asset_key=name, metadata=metadata)


def refresh_otel_tables(conn, *, only_if_new: bool = False) -> tuple[str, dict[str, dict]]:
    """Refresh the OTel tables on ``conn``: a log line and each table's materialization
    metadata (none with ``only_if_new`` when no export was read: a follow run's refresh
    skips the table counts then)."""
    stats = refresh(conn, config.load_settings().privacy_mode)
    if only_if_new and not stats.exports_read:
        return "no new exports", {}
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    gaps = sequence_gaps(conn)
    message = (
        f"{stats.exports_read} exports, {stats.new_log_events} new log events, "
        f"{stats.new_metric_points} new points, {len(gaps)} sessions with gaps"
    )
    changed = {
        "otel_log_events": stats.new_log_events,
        "api_requests": stats.new_api_requests,
        "tool_decisions": stats.new_tool_decisions,
        "otel_metric_points": stats.new_metric_points,
    }
    found = {}
    for name in TABLES:
        metadata = {
            "rows_changed": changed.get(name, len(stats.sessions)),
            "rows_total": counts[name],
            "seconds": round(stats.seconds, 4),
            "seq_from": stats.watermark_from,
            "seq_to": stats.watermark_to,
        }
        if name == "otel_log_events":
            metadata.update(
                exports_read=stats.exports_read,
                undecodable=stats.undecodable,
                lost_batches_sessions=len(gaps),
                lost_events=sum(g.missing for g in gaps),
            )
        found[name] = metadata
    return message, found


OTEL_ASSETS = [otel_tables]
