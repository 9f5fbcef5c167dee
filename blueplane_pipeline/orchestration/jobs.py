"""Every job of the code location, and the run statuses that count as "in flight".

All run with the in-process executor: each step of these jobs is small and serial, and a
step subprocess would cost a whole interpreter start. Import jobs are built from the
registry, one per platform with an ``Importer`` (``sources.importer``).
"""


import dagster as dg

from blueplane_pipeline.orchestration.instance import INGEST_TAG
from blueplane_pipeline.orchestration.maintenance import prune_runs_op
from blueplane_pipeline.orchestration.resources import BlueplaneResource

IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
             dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
ANALYTICS_GROUP = "analytics"
# What sensor and schedule runs log to the daemon's output: warnings and errors only (the
# event log in the UI keeps every step event either way).
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("raw_events"),
    executor_def=dg.in_process_executor,
    tags={INGEST_TAG: "stream"},
    description="Drain the Redis stream and the spool into raw_events.",
)

analytics_job = dg.define_asset_job(
    "analytics_job", selection=dg.AssetSelection.groups(ANALYTICS_GROUP),
    executor_def=dg.in_process_executor,
    description="Refresh every analytics table (incremental; full_rebuild in config).")

analytics_catchup_job = dg.define_asset_job(
    "analytics_catchup_job",
    selection=(dg.AssetSelection.assets("token_usage") | dg.AssetSelection.groups("otel")
               | dg.AssetSelection.groups(ANALYTICS_GROUP)),
    executor_def=dg.in_process_executor,
    description="token_usage, the OTel tables and every analytics table, incrementally.",
)


@dg.job(executor_def=dg.in_process_executor,
        description="Delete finished Dagster runs beyond the retention window.")
def prune_runs_job():
    prune_runs_op()


def _metadata(result) -> dict:
    d = result.as_dict()
    out = {f"import_{k}": v for k, v in d["import"].items()
           if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    if "ingest" in d:
        out["events_stored"] = d["ingest"]["events_stored"]
        out["duplicates_skipped"] = d["ingest"]["duplicates"]
    return out


def _import_job(platform) -> dg.JobDefinition:
    importer = platform.attr("IMPORTER")
    what = f"{platform.label} {importer.what}"

    @dg.op(name=f"import_{platform.name}_op",
           description=f"Import new or changed {what}, then ingest them.")
    def import_op(context: dg.OpExecutionContext, blueplane: BlueplaneResource) -> None:
        from blueplane_pipeline.sources.run import run_import

        result = run_import(platform.name, db_path=blueplane.db_path,
                            redis_url=blueplane.stream_url, trigger="dagster-import")
        context.log.info(f"{what} import: {_metadata(result)}")
        if result.imported.errors:
            context.log.warning(f"unreadable {what}: {result.imported.errors[:10]}")

    @dg.job(name=f"{platform.name}_import_job", executor_def=dg.in_process_executor,
            tags={INGEST_TAG: "import"}, description=f"Import {what} that grew or appeared.")
    def import_job():
        import_op()

    return import_job


def _import_jobs() -> dict[str, dg.JobDefinition]:
    from blueplane_pipeline.core import platforms
    from blueplane_pipeline.sources.importer import Importer

    return {p.name: _import_job(p) for p in platforms.all_platforms()
            if isinstance(p.attr("IMPORTER"), Importer)}


# The import jobs carry the ingest concurrency tag: never beside an ingest_job run.
IMPORT_JOBS = _import_jobs()
JOBS = [ingest_job, analytics_job, analytics_catchup_job, prune_runs_job, *IMPORT_JOBS.values()]
