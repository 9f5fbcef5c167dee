"""Sensors and jobs that keep imported history current while ``blueplane up`` runs.

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
from blueplane_pipeline.sources import claude_transcripts, cursor_store
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


@dg.op(description="Import new or grown Claude Code transcripts, then ingest them.")
def import_claude_transcripts_op(context: dg.OpExecutionContext) -> None:
    from blueplane_pipeline.sources.run import run_claude_import

    _import_and_log(context, "transcript", run_claude_import)


@dg.op(description="Import new or changed Cursor composers, bubbles, prompts, generations.")
def import_cursor_store_op(context: dg.OpExecutionContext) -> None:
    from blueplane_pipeline.sources.run import run_cursor_import

    _import_and_log(context, "Cursor", run_cursor_import)


@dg.job(executor_def=dg.in_process_executor, tags={INGEST_TAG: "import"},
        description="Import Claude Code transcripts that grew or appeared.")
def claude_import_job():
    import_claude_transcripts_op()


@dg.job(executor_def=dg.in_process_executor, tags={INGEST_TAG: "import"},
        description="Import Cursor state.vscdb changes.")
def cursor_import_job():
    import_cursor_store_op()


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


@dg.sensor(job=claude_import_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Requests claude_import_job when a transcript grew or appeared "
                       "(stats only; the job reads).")
def transcript_import_sensor(context: dg.SensorEvaluationContext):
    states = load_states_readonly(config.db_path(), claude_transcripts.SOURCE)
    changed = [(str(t.path), t.st.st_size, t.st.st_mtime_ns)
               for t in claude_transcripts.changed_files(states,
                                                         claude_transcripts.config_dirs())]
    return _decide(context, claude_import_job.name, changed, "transcript file(s)")


@dg.sensor(job=cursor_import_job, minimum_interval_seconds=120,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Requests cursor_import_job when a Cursor state.vscdb changed "
                       "(stats only; the job reads).")
def cursor_import_sensor(context: dg.SensorEvaluationContext):
    states = load_states_readonly(config.db_path(), cursor_store.SOURCE)
    changed = [(s.path, s.size, s.mtime_ns)
               for s in cursor_store.changed_databases(states, cursor_store.default_dirs())]
    return _decide(context, cursor_import_job.name, changed, "Cursor database(s)")


IMPORT_SENSORS = [transcript_import_sensor, cursor_import_sensor]
IMPORT_JOBS = [claude_import_job, cursor_import_job]
