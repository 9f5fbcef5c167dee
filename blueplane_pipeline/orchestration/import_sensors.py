"""Sensors and jobs that keep imported history current while ``blueplane up`` runs: one of
each per registered importer (``sources.importer``).

Each sensor only stats files and compares them with the import state in telemetry.db
(read-only); when something grew or appeared it requests a run of its import job, which
imports and ingests in-process. The jobs carry the ingest concurrency tag, so they never
run beside an ``ingest_job`` run (one writer of raw_events at a time). Intervals are a
minute or two: every Dagster run is a new ~110 MB process costing ~3 CPU-seconds, and hooks
already deliver live events; the importers catch up what hooks do not see.
"""

import hashlib

import dagster as dg

from blueplane_pipeline.core import config
from blueplane_pipeline.orchestration.instance import INGEST_TAG
from blueplane_pipeline.sources.importer import Importer, importers
from blueplane_pipeline.sources.offsets import load_states_readonly

IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
             dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _metadata(result) -> dict:
    d = result.as_dict()
    out = {f"import_{k}": v for k, v in d["import"].items()
           if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    if "ingest" in d:
        out["events_stored"] = d["ingest"]["events_stored"]
        out["duplicates_skipped"] = d["ingest"]["duplicates"]
    return out


def _import_and_log(context: dg.OpExecutionContext, what: str, run) -> None:
    result = run(trigger="dagster-import")
    context.log.info(f"{what} import: {_metadata(result)}")
    if result.imported.errors:
        context.log.warning(f"unreadable {what} files: {result.imported.errors[:10]}")


def _fingerprint(items: list[tuple]) -> str:
    return hashlib.blake2b(repr(sorted(items)).encode(), digest_size=12).hexdigest()


def _decide(context: dg.SensorEvaluationContext, job_name: str, changed: list[tuple],
            what: str):
    """Launch unless a run is in flight, nothing changed, or exactly these changes were
    already requested (a file that cannot be read must not launch a run every tick)."""
    in_flight = context.instance.get_run_records(
        dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT), limit=1)
    if in_flight:
        return dg.SkipReason(f"a {job_name} run is already in flight")
    if not changed:
        return dg.SkipReason(f"no {what} changed")
    mark = _fingerprint(changed)
    if context.cursor == mark:
        return dg.SkipReason(f"{len(changed)} {what} unchanged since the last requested run")
    context.update_cursor(mark)
    return dg.RunRequest(tags={"blueplane/reason": f"{len(changed)} {what} new or changed"})


def _import_job(cli_name: str, importer: Importer, label: str) -> dg.JobDefinition:
    from blueplane_pipeline.core.platforms import from_cli

    name = from_cli(cli_name).name

    @dg.op(name=f"import_{name}_op",
           description=f"Import new or changed {label} {importer.what}, then ingest them.")
    def import_op(context: dg.OpExecutionContext) -> None:
        from blueplane_pipeline.sources.run import run_import

        _import_and_log(context, f"{label} {importer.what}",
                        lambda **kw: run_import(cli_name, **kw))

    @dg.job(name=f"{name}_import_job", executor_def=dg.in_process_executor,
            tags={INGEST_TAG: "import"},
            description=f"Import {label} {importer.what} that grew or appeared.")
    def import_job():
        import_op()

    return import_job


def _import_sensor(importer: Importer, job: dg.JobDefinition, name: str, label: str):
    @dg.sensor(name=f"{name}_import_sensor", job=job,
               minimum_interval_seconds=importer.sensor_interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Requests {job.name} when {label} {importer.what} grew or "
                           "appeared (stats only; the job reads).")
    def import_sensor(context: dg.SensorEvaluationContext):
        states = load_states_readonly(config.db_path(), importer.state_source)
        changed = importer.changed(states, importer.default_dirs())
        return _decide(context, job.name, changed, f"{label} {importer.what}")

    return import_sensor


def import_definitions() -> tuple[list, list]:
    """(sensors, jobs): one import sensor and job per registered importer."""
    from blueplane_pipeline.core.platforms import from_cli

    sensors, jobs = [], []
    for cli_name, importer in importers().items():
        platform = from_cli(cli_name)
        job = _import_job(cli_name, importer, platform.label)
        jobs.append(job)
        sensors.append(_import_sensor(importer, job, platform.name, platform.label))
    return sensors, jobs


IMPORT_SENSORS, IMPORT_JOBS = import_definitions()
