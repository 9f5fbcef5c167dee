"""Every schedule: pruning old runs, and the daily rollup of the analytics."""

from __future__ import annotations

import dagster as dg

from blueplane_pipeline.orchestration.assets.team import team_publish_schedule
from blueplane_pipeline.orchestration.jobs import QUIET_LOGS, analytics_job, prune_runs_job

prune_runs_schedule = dg.ScheduleDefinition(
    job=prune_runs_job,
    cron_schedule="17 * * * *",
    run_config=QUIET_LOGS,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: delete finished runs older than 2 days beyond the newest 200.",
)

# Rolls the daily metrics up even on days without new events (e.g. "no outcome after
# 10 minutes" turning pending calls into interrupted ones), shortly after midnight UTC.
analytics_daily_schedule = dg.ScheduleDefinition(
    name="analytics_daily_schedule", job=analytics_job, cron_schedule="10 0 * * *",
    run_config=QUIET_LOGS,
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING)

SCHEDULES = [prune_runs_schedule, analytics_daily_schedule, team_publish_schedule]
