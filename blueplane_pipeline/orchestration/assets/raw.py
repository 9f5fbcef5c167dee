"""``raw_events``: the stream and the spool drained into SQLite.

Two shapes, one asset. By default a run drains once and ends. With ``follow_idle_s`` (what
the stream sensor asks for) the run follows the stream (``ingest.follow``) until it has
been quiet that long: it reports a ``raw_events`` materialization per reporting window, and
the analytics it keeps fresh in a thread beside it (``live_refresh``) as materializations
and check evaluations of their own assets, all in this run's event log.
"""

import time

import dagster as dg
from pydantic import Field

from blueplane_pipeline.ingest.drain import IngestStats, ingest
from blueplane_pipeline.ingest.follow import FollowPace, follow, merge_stats
from blueplane_pipeline.orchestration import host
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.runtime import logs


class IngestConfig(dg.Config):
    follow_idle_s: float = Field(
        default=0.0, description="0: drain once. Otherwise keep following the stream (and "
                                 "refreshing the analytics) until it is quiet this long.")
    report_every_s: float = Field(
        default=30.0, description="While following: at most one materialization per asset "
                                  "per this many seconds (each costs ~15 ms of event-log "
                                  "writes; the tables themselves are fresh within a second).")
    checks_every_s: float = Field(
        default=600.0, description="While following: evaluate the analytics checks at most "
                                   "this often, and once at the end.")


@dg.asset(
    key="raw_events",
    group_name="ingest",
    kinds={"sqlite", "redis"},
    description=(
        "Every captured event (hooks, transcripts, Cursor store, MCP tracking), one row per "
        "event_id, bodies zstd-compressed in blocks. Filled from the Redis stream "
        "`blueplane:events` and the spool; an event is acknowledged only after it is committed."
    ),
)
def raw_events(context: dg.AssetExecutionContext, config: IngestConfig,
               blueplane: BlueplaneResource):
    logs.setup("ingest")
    trigger = f"dagster:{context.run.run_id}"
    if config.follow_idle_s <= 0:
        stats = ingest(blueplane.db_path, blueplane.stream_url, spool_dir=blueplane.spool_dir,
                       trigger=trigger, after_commit=host.crash_hook())
        if stats.redis_error:
            context.log.warning(stats.redis_error)
        yield dg.MaterializeResult(metadata=ingest_metadata(stats))
        return
    yield from _follow(context, config, blueplane, trigger)


def _follow(context, config: IngestConfig, blueplane: BlueplaneResource, trigger: str):
    from blueplane_pipeline.orchestration.live_refresh import LiveRefresh

    live = LiveRefresh(blueplane, checks_every_s=config.checks_every_s).start()
    live.poke()  # events stored by a run that died before its analytics caught up
    window: IngestStats | None = None
    total = IngestStats()
    last_report = time.monotonic()
    batches = follow(blueplane.db_path, blueplane.stream_url, spool_dir=blueplane.spool_dir,
                     pace=FollowPace(idle_s=config.follow_idle_s), trigger=trigger,
                     stop=host.SHUTDOWN, after_commit=host.crash_hook())
    try:
        for batch in batches:
            if batch is not None:
                if batch.redis_error:
                    context.log.warning(batch.redis_error)
                merge_stats(total, batch)
                if window is None:
                    window = batch
                else:
                    merge_stats(window, batch)
                if batch.events_stored or batch.spool_events:
                    live.poke()
            if time.monotonic() - last_report >= config.report_every_s:
                last_report = time.monotonic()
                if window is not None and window.events_read:
                    yield dg.AssetMaterialization(asset_key="raw_events",
                                                  metadata=ingest_metadata(window))
                    window = None
                yield from _reported(context, live.take())
    finally:
        batches.close()
        live.close()
    yield from _reported(context, live.take())
    metadata = ingest_metadata(window or IngestStats())
    metadata.update(follow_events_stored=total.events_stored,
                    follow_events_read=total.events_read,
                    analytics_refreshes=live.refreshes)
    yield dg.MaterializeResult(metadata=metadata)


def _reported(context, events: list):
    for event in events:
        if isinstance(event, str):
            context.log.warning(f"analytics refresh failed (retried on the next batch): {event}")
        else:
            yield event


def ingest_metadata(stats: IngestStats) -> dict:
    """A ``raw_events`` materialization's metadata for one drain or follow window."""
    d = stats.as_dict()
    ratio = stats.raw_bytes / stats.stored_bytes if stats.stored_bytes else None
    metadata = {
        "events_stored": stats.events_stored,
        "duplicates_skipped": stats.duplicates,
        "dead_lettered": stats.dead_lettered,
        "stale_entries_reclaimed": stats.reclaimed,
        "spool_files_drained": stats.spool_files,
        "raw_bytes": stats.raw_bytes,
        "stored_bytes": stats.stored_bytes,
        "compression_ratio": dg.MetadataValue.float(round(ratio, 2)) if ratio else None,
        "remaining_lag": stats.lag_after,
        "seconds": d["seconds"],
        "events_per_s": d["events_per_s"],
        "batch_p50_ms": d["batch_p50_ms"],
        "batch_p95_ms": d["batch_p95_ms"],
        "last_seq": stats.last_seq,
    }
    return {k: v for k, v in metadata.items() if v is not None}
