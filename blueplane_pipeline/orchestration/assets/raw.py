"""``raw_events``: the stream and the spool drained into SQLite."""


import dagster as dg

from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.runtime import logs


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
def raw_events(context: dg.AssetExecutionContext, blueplane: BlueplaneResource):
    logs.setup("ingest")
    stats = ingest(blueplane.db_path, blueplane.stream_url, spool_dir=blueplane.spool_dir,
                   trigger=f"dagster:{context.run.run_id}")
    if stats.redis_error:
        context.log.warning(stats.redis_error)
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
    return dg.MaterializeResult(metadata={k: v for k, v in metadata.items() if v is not None})
