"""Schedules: pruning old runs (analytics rollups register their own)."""

from __future__ import annotations

import dagster as dg

from blueplane_pipeline.orchestration.jobs import prune_runs_job

prune_runs_schedule = dg.ScheduleDefinition(
    job=prune_runs_job,
    cron_schedule="17 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: delete finished runs older than 2 days beyond the newest 200.",
)
