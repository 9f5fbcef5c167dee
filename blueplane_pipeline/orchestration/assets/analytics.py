"""Analytics assets (group ``analytics``): raw_events → tool_calls, turns, file_edits,
sessions → metrics_daily, tool_metrics → insights.

Thin wiring: the work is in ``blueplane_pipeline.analytics``. The four session tables come
from one pass over each touched session, so they are one multi-asset; the rollups are
another. Each refreshes incrementally from its own watermark / dirty-day queue; run with
config ``full_rebuild: true`` to recompute from scratch (identical tables).
"""


import dagster as dg

from blueplane_pipeline.analytics.insights import refresh_insights
from blueplane_pipeline.analytics.rollups import refresh_rollups
from blueplane_pipeline.analytics.session_refresh import refresh_sessions
from blueplane_pipeline.orchestration.jobs import ANALYTICS_GROUP
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.storage.analytics_docs import TABLE_DOCS

GROUP = ANALYTICS_GROUP
RAW = dg.AssetKey("raw_events")
TOKEN_USAGE = dg.AssetKey("token_usage")
# The OTel tables joined into sessions, tool_calls and metrics_daily (optional like
# token_usage: no OTel data must not hold the analytics back).
OTEL = [dg.AssetKey(name) for name in ("api_requests", "tool_decisions", "otel_session_daily")]

# Eager, except that token_usage (built by the import part) may not exist or never have
# been materialized: its absence must not hold the analytics back.
AUTOMATION = (
    dg.AutomationCondition.in_latest_time_window()
    & (dg.AutomationCondition.newly_missing()
       | dg.AutomationCondition.any_deps_updated()).since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing().ignore(
        dg.AssetSelection.assets(TOKEN_USAGE, *OTEL))
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("eager (token_usage optional)")


class AnalyticsConfig(dg.Config):
    full_rebuild: bool = False


def _spec(name: str, deps: list) -> dg.AssetSpec:
    doc = TABLE_DOCS[name]
    return dg.AssetSpec(
        name, deps=deps, group_name=GROUP, kinds={"sqlite"}, description=doc["description"],
        automation_condition=AUTOMATION,
        metadata={"dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(col, description=desc) for col, desc in doc["columns"].items()])},
    )


# Written together in one pass; the dependencies between them are for the lineage (the
# automation does not re-trigger on them: tested).
SESSION_SPECS = [
    _spec("tool_calls", [RAW, dg.AssetKey("tool_decisions")]),
    _spec("turns", [RAW, "tool_calls"]),
    _spec("file_edits", ["tool_calls"]),
    _spec("sessions", [RAW, TOKEN_USAGE, *OTEL, "tool_calls", "turns", "file_edits"]),
]
ROLLUP_SPECS = [
    _spec("metrics_daily", ["sessions", "tool_calls", "turns", TOKEN_USAGE, *OTEL]),
    _spec("tool_metrics", ["tool_calls"]),
]


def _run(blueplane: BlueplaneResource, refresh, **kwargs):
    """One refresh step on its own writer connection (migrated first)."""
    conn = blueplane.writer()
    try:
        return refresh(conn, **kwargs)
    finally:
        conn.close()


@dg.multi_asset(specs=SESSION_SPECS, name="session_tables", can_subset=False)
def session_tables(context: dg.AssetExecutionContext, config: AnalyticsConfig,
                   blueplane: BlueplaneResource):
    """Events after the watermark → the sessions they touch, rebuilt in full."""
    stats = _run(blueplane, refresh_sessions, full=config.full_rebuild)
    context.log.info(f"{stats.new_events} new events, {stats.sessions_rebuilt} sessions rebuilt")
    for name, metadata in session_metadata(stats).items():
        yield dg.MaterializeResult(asset_key=name, metadata=metadata)


def session_metadata(stats) -> dict[str, dict]:
    """Each session table's materialization metadata after one ``refresh_sessions``."""
    out = {}
    for spec in SESSION_SPECS:
        name = spec.key.path[-1]
        metadata = {"rows_changed": stats.rows_written.get(name, 0),
                    "seconds": stats.seconds, "last_seq": stats.last_seq,
                    "full_rebuild": stats.full_rebuild}
        if name == "sessions":
            metadata.update(new_events=stats.new_events, events_read=stats.events_read,
                            tokens_updated=stats.tokens_updated,
                            events_without_session=stats.events_without_session)
        out[name] = metadata
    return out


@dg.multi_asset(specs=ROLLUP_SPECS, name="daily_rollups", can_subset=False)
def daily_rollups(context: dg.AssetExecutionContext, config: AnalyticsConfig,
                  blueplane: BlueplaneResource):
    """Recompute the days queued by the session refresh (and days whose tokens changed)."""
    stats = _run(blueplane, refresh_rollups, full=config.full_rebuild)
    context.log.info(f"{stats.days} days recomputed")
    for name, metadata in rollup_metadata(stats).items():
        yield dg.MaterializeResult(asset_key=name, metadata=metadata)


def rollup_metadata(stats) -> dict[str, dict]:
    return {"metrics_daily": {"rows_changed": stats.metrics_daily_rows, "days": stats.days,
                              "token_days": stats.token_days, "seconds": stats.seconds},
            "tool_metrics": {"rows_changed": stats.tool_metrics_rows, "days": stats.days,
                             "seconds": stats.seconds}}


@dg.asset(name="insights", group_name=GROUP, kinds={"sqlite"},
          deps=["metrics_daily", "tool_metrics", "sessions", "file_edits"],
          description=TABLE_DOCS["insights"]["description"], automation_condition=AUTOMATION)
def insights(context: dg.AssetExecutionContext, blueplane: BlueplaneResource):
    stats = _run(blueplane, refresh_insights)
    return dg.MaterializeResult(metadata=insights_metadata(stats))


def insights_metadata(stats) -> dict:
    return {"rows_changed": stats.insights, "seconds": stats.seconds}


ANALYTICS_ASSETS = [session_tables, daily_rollups, insights]
