"""The team code location (``dagster api grpc -m blueplane_pipeline.team.definitions``): the
team rollups over the facts laptops publish, their checks, a sensor and a schedule.

A second code location, apart from the laptop's ``blueplane_pipeline.definitions``: it
reads and writes only the team Postgres. Thin wiring over ``team.rollups`` and
``team.integrity``; the facts tables are external assets (laptops write them).
"""


import dagster as dg

from blueplane_pipeline.team import integrity, rollups
from blueplane_pipeline.team.resources import TeamStoreResource

GROUP = "team"
TEAM_TAG = "blueplane/team"
FACTS = {
    "session_facts": "One row per session per laptop: times, counts, tokens, cost.",
    "usage_facts": "Tokens and cost per laptop x quarter hour x platform x model x project.",
    "tool_facts": "Calls by status, lines and every latency per laptop x day x tool.",
}
FACT_SPECS = [dg.AssetSpec(name, group_name="team_facts", kinds={"postgres"},
                           description=f"{text} Published by `blueplane team publish`.")
              for name, text in FACTS.items()]
ROLLUPS = {
    "team_usage_daily": (["usage_facts"], "Tokens and cost per day x developer x project x "
                         "model (days in the team timezone)."),
    "team_activity_daily": (["session_facts"], "Sessions, prompts, active time, tool errors "
                            "and edit acceptance per day x developer x project."),
    "team_tool_daily": (["tool_facts"], "Calls, error rate and exact p50/p95 latency per "
                        "day x tool across the team."),
    "team_outliers": (["team_usage_daily", "team_activity_daily", "session_facts"],
                      "Developer-days and developers far from the team's norm (rules in "
                      "team/rollups.py)."),
}


def _rollup_asset(name: str, deps: list[str], description: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name=GROUP, deps=deps, kinds={"postgres"},
              description=description)
    def build(context: dg.AssetExecutionContext,
              team_store: TeamStoreResource) -> dg.MaterializeResult:
        conn = team_store.connect()
        try:
            stats = rollups.rebuild(conn, name, team_store.tz)
        finally:
            conn.close()
        context.log.info(f"{name}: {stats.rows} rows from facts version {stats.facts_version}")
        return dg.MaterializeResult(metadata={
            "rows": stats.rows, "facts_version": stats.facts_version,
            "timezone": team_store.tz, "seconds": dg.MetadataValue.float(round(stats.seconds, 4))})

    return build


def _check(asset: str, name: str, description: str, rule, *args) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset, name=name, blocking=True, description=description)
    def check(team_store: TeamStoreResource) -> dg.AssetCheckResult:
        conn = team_store.connect()
        try:
            passed, details = rule(conn, *args)
        finally:
            conn.close()
        return dg.AssetCheckResult(passed=passed, metadata={
            k: dg.MetadataValue.json(v) if isinstance(v, (dict, list, tuple)) else v
            for k, v in details.items() if v is not None})

    return check


TEAM_ASSETS = [_rollup_asset(name, deps, text) for name, (deps, text) in ROLLUPS.items()]
TEAM_CHECKS = [
    *(_check(t, f"{t}_unique_keys", f"One row per {', '.join(rollups.KEYS[t])}.",
             integrity.unique_keys, t) for t in [*ROLLUPS, *FACTS]),
    *(_check(t, f"{t}_totals_match_facts", "Totals equal the sums of the published facts "
             "it was built from (tokens exactly, cost to 1e-6).", integrity.totals_match_facts,
             t) for t in rollups.FACT_TOTALS),
]

team_rollups_job = dg.define_asset_job(
    "team_rollups_job",
    selection=dg.AssetSelection.groups(GROUP)
    | dg.AssetSelection.checks_for_assets(*(s.key for s in FACT_SPECS)),
    executor_def=dg.in_process_executor, tags={TEAM_TAG: "rollups"},
    description="Rebuild every team rollup from the published facts, then check them.")

team_rollups_schedule = dg.ScheduleDefinition(
    name="team_rollups_schedule", job=team_rollups_job, cron_schedule="7 * * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly, even without new facts (the outliers' 30-day window moves).")


@dg.sensor(job=team_rollups_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Rebuilds the rollups when laptops published new facts.")
def team_facts_sensor(context: dg.SensorEvaluationContext, team_store: TeamStoreResource):
    from blueplane_pipeline.team.pg import TeamStoreError
    from blueplane_pipeline.team.schema import SCHEMA

    try:
        conn = team_store.connect()
    except TeamStoreError as exc:
        return dg.SkipReason(str(exc))
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT version FROM {SCHEMA}.facts_version")
            version = str(cur.fetchone()[0])
    finally:
        conn.close()
    if version == context.cursor:
        return dg.SkipReason(f"no new facts since version {version}")
    in_flight = context.instance.get_run_records(dg.RunsFilter(
        job_name=team_rollups_job.name,
        statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
                  dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]), limit=1)
    if in_flight:
        return dg.SkipReason("a rollup run is already queued or running")
    context.update_cursor(version)
    return dg.RunRequest(run_key=f"facts-{version}")


defs = dg.Definitions(
    assets=[*FACT_SPECS, *TEAM_ASSETS],
    asset_checks=TEAM_CHECKS,
    jobs=[team_rollups_job],
    schedules=[team_rollups_schedule],
    sensors=[team_facts_sensor],
    resources={"team_store": TeamStoreResource()},
)
