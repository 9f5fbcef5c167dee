"""The Dagster code location: ``dagster dev -w workspace.yaml`` loads ``defs`` from here.

Only assembly: assets, checks, jobs, schedules, sensors and resources each live in their
own module under ``orchestration/``.
"""

from __future__ import annotations

import dagster as dg

from blueplane_pipeline.orchestration.assets import ASSETS
from blueplane_pipeline.orchestration.checks import ANALYTICS_CHECKS
from blueplane_pipeline.orchestration.jobs import JOBS
from blueplane_pipeline.orchestration.resources import BlueplaneResource
from blueplane_pipeline.orchestration.schedules import SCHEDULES
from blueplane_pipeline.orchestration.sensors import SENSORS

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=ANALYTICS_CHECKS,
    sensors=SENSORS,
    jobs=JOBS,
    schedules=SCHEDULES,
    resources={"blueplane": BlueplaneResource()},
)
