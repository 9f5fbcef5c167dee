"""``team_facts_published`` (group ``team``): this laptop's facts upserted into the team
Postgres when ``team.url`` is set (thin wiring over ``blueplane_pipeline.team.publish``).

Its own job and schedule, never part of ingest or the analytics automation: it only reads
``telemetry.db`` and keeps its watermarks in ``$BLUEPLANE_HOME/team/``. Without
``team.url`` the schedule's ticks are skipped with the reason shown in the UI.
"""

from pathlib import Path

import dagster as dg

from blueplane_pipeline.core import config
from blueplane_pipeline.orchestration.resources import BlueplaneResource

NOT_SET = "team.url is not set (blueplane config set team.url postgresql://…): nothing to do"


def _home(blueplane: BlueplaneResource) -> Path:
    return Path(blueplane.home) if blueplane.home else config.home()


@dg.asset(
    key="team_facts_published",
    group_name="team",
    deps=["sessions", "tool_calls", dg.AssetKey("token_usage")],
    kinds={"postgres"},
    description=(
        "This laptop's anonymised session, usage and tool facts upserted into the team "
        "Postgres (team.url), as team.share allows: never prompts, file contents, tool "
        "output, paths or secrets. Incremental and idempotent (docs/team.md)."),
)
def team_facts_published(context: dg.AssetExecutionContext,
                         blueplane: BlueplaneResource) -> dg.MaterializeResult:
    from blueplane_pipeline.team import settings
    from blueplane_pipeline.team.pg import TeamStoreError
    from blueplane_pipeline.team.publish import publish

    home = _home(blueplane)
    team = settings.load(home)
    if not team.url:
        context.log.info(NOT_SET)
        return dg.MaterializeResult(metadata={"published": False, "reason": NOT_SET})
    try:
        stats = publish(home, team, db_path=blueplane.db_path)
    except TeamStoreError as exc:
        raise dg.Failure(description=str(exc)) from None
    metadata: dict = {"published": True, "team": stats.team, "developer": stats.developer,
                      "rows_upserted": stats.upserted, "rows_deleted": stats.deleted,
                      "seconds": dg.MetadataValue.float(round(stats.seconds, 3))}
    for kind, ks in stats.kinds.items():
        metadata[f"{kind}_facts"] = ks.facts
    return dg.MaterializeResult(metadata=metadata)


team_publish_job = dg.define_asset_job(
    "team_publish_job", selection=dg.AssetSelection.assets("team_facts_published"),
    executor_def=dg.in_process_executor,
    description="Publish this laptop's facts to the team store (team.url).")


@dg.schedule(job=team_publish_job, cron_schedule="*/30 * * * *",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Every 30 minutes when team.url is set; skipped otherwise.")
def team_publish_schedule(context: dg.ScheduleEvaluationContext):
    from blueplane_pipeline.team import settings

    if not settings.load(config.home()).url:
        return dg.SkipReason(NOT_SET)
    return dg.RunRequest()
