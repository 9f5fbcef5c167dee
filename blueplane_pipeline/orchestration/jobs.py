"""Jobs. All run in-process: each Dagster run is already a new ~110 MB process."""

from __future__ import annotations

import dagster as dg

from blueplane_pipeline.orchestration.instance import INGEST_TAG
from blueplane_pipeline.orchestration.maintenance import prune_runs_op

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("raw_events"),
    executor_def=dg.in_process_executor,
    tags={INGEST_TAG: "stream"},
    description="Drain the Redis stream and the spool into raw_events.",
)

analytics_catchup_job = dg.define_asset_job(
    "analytics_catchup_job",
    selection=dg.AssetSelection.assets("token_usage") | dg.AssetSelection.groups("analytics"),
    executor_def=dg.in_process_executor,
    description="token_usage and every analytics table, incrementally.",
)


@dg.job(executor_def=dg.in_process_executor,
        description="Delete finished Dagster runs beyond the retention window.")
def prune_runs_job():
    prune_runs_op()
