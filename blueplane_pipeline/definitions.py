"""The Dagster code location: ``dagster dev -w workspace.yaml`` loads ``defs`` from here."""

from __future__ import annotations

import dagster as dg

from blueplane_pipeline.orchestration.assets.analytics import (
    ANALYTICS_ASSETS,
    analytics_daily_schedule,
    analytics_job,
)
from blueplane_pipeline.orchestration.assets.raw import raw_events
from blueplane_pipeline.orchestration.assets.token_usage import TOKEN_USAGE_ASSETS
from blueplane_pipeline.orchestration.checks import ANALYTICS_CHECKS
from blueplane_pipeline.orchestration.import_sensors import IMPORT_JOBS, IMPORT_SENSORS
from blueplane_pipeline.orchestration.jobs import analytics_catchup_job, ingest_job, prune_runs_job
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.orchestration.schedules import prune_runs_schedule
from blueplane_pipeline.orchestration.sensors import analytics_catchup_sensor, redis_stream_sensor

# Registered lists: helpers add their assets/checks/sensors/jobs/schedules here.
ASSETS: list = [raw_events, *TOKEN_USAGE_ASSETS, *ANALYTICS_ASSETS]
ASSET_CHECKS: list = [*ANALYTICS_CHECKS]
# Declarative automation: the analytics assets (eager-like conditions) refresh after each
# ingest run without a person; running by default so `blueplane up` keeps tables fresh.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
)
SENSORS: list = [redis_stream_sensor, automation_sensor, analytics_catchup_sensor,
                 *IMPORT_SENSORS]
JOBS: list = [ingest_job, prune_runs_job, analytics_job, analytics_catchup_job, *IMPORT_JOBS]
SCHEDULES: list = [prune_runs_schedule, analytics_daily_schedule]

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=ASSET_CHECKS,
    sensors=SENSORS,
    jobs=JOBS,
    schedules=SCHEDULES,
    resources={"blueplane": BlueplaneResource()},
)
