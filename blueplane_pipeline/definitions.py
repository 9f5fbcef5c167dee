"""The Dagster code location: ``dagster dev -w workspace.yaml`` loads ``defs`` from here."""

from __future__ import annotations

import dagster as dg

from blueplane_pipeline.assets.raw import raw_events
from blueplane_pipeline.assets.token_usage import TOKEN_USAGE_ASSETS
from blueplane_pipeline.jobs import ingest_job, prune_runs_job
from blueplane_pipeline.resources import BlueplaneResource
from blueplane_pipeline.schedules import prune_runs_schedule
from blueplane_pipeline.sensors import redis_stream_sensor
from blueplane_pipeline.sensors_import import IMPORT_JOBS, IMPORT_SENSORS

# Registered lists: helpers add their assets/checks/sensors/jobs/schedules here.
ASSETS: list = [raw_events, *TOKEN_USAGE_ASSETS]
ASSET_CHECKS: list = []
SENSORS: list = [redis_stream_sensor, *IMPORT_SENSORS]
JOBS: list = [ingest_job, prune_runs_job, *IMPORT_JOBS]
SCHEDULES: list = [prune_runs_schedule]

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=ASSET_CHECKS,
    sensors=SENSORS,
    jobs=JOBS,
    schedules=SCHEDULES,
    resources={"blueplane": BlueplaneResource()},
)
