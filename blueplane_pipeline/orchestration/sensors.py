"""Every sensor of the code location.

- ``redis_stream_sensor``: launches a follow ``ingest_job`` run (it drains, then keeps
  following the stream and refreshing the analytics until the stream is quiet for
  ``FOLLOW_IDLE_S``) when the stream has lag, unacknowledged entries or the spool has
  files, and never while an ingest run is in flight. The blueplane daemon evaluates it as
  soon as entries arrive, so its short interval costs nothing while the stream is quiet.
- ``analytics_catchup_sensor``: the analytics for events stored outside a follow run.
- ``analytics_automation_sensor``: declarative automation, stopped by default (a follow
  run refreshes the analytics itself; each automation tick and run costs a core-second).
- one import sensor per platform with an ``Importer``: stats only; the job reads.
"""

import hashlib

import dagster as dg

from blueplane_pipeline.capture import spool
from blueplane_pipeline.ingest.trigger import ingest_decision
from blueplane_pipeline.orchestration.jobs import (
    IMPORT_JOBS,
    IN_FLIGHT,
    QUIET_LOGS,
    analytics_catchup_job,
    ingest_job,
)
from blueplane_pipeline.orchestration.resources import BlueplaneResource


def _stream_state(url: str) -> tuple[int | None, int | None, str | None]:
    import redis

    from blueplane_pipeline.ingest import stream

    try:
        r = stream.client(url, timeout=2.0)
        try:
            s = stream.state(r)
        finally:
            r.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        return None, None, str(exc)
    return s.lag, s.pending, None


FOLLOW_IDLE_S = 60.0


def follow_run_config(idle_s: float = FOLLOW_IDLE_S) -> dict:
    return {**QUIET_LOGS, "ops": {"raw_events": {"config": {"follow_idle_s": idle_s}}}}


@dg.sensor(job=ingest_job, minimum_interval_seconds=2,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Launches a follow ingest_job run when blueplane:events has lag or the "
                       "spool has files; skips while an ingest run is queued or running.")
def redis_stream_sensor(context: dg.SensorEvaluationContext, blueplane: BlueplaneResource):
    in_flight = len(context.instance.get_run_records(
        dg.RunsFilter(job_name=ingest_job.name, statuses=IN_FLIGHT), limit=5))
    lag, pending, error = (None, None, None) if in_flight else _stream_state(blueplane.stream_url)
    files = 0 if in_flight else len(spool.pending_files(blueplane.spool_dir))
    launch, reason = ingest_decision(in_flight=in_flight, lag=lag, pending=pending,
                                     spool_files=files, redis_error=error)
    if not launch:
        return dg.SkipReason(reason)
    return dg.RunRequest(tags={"blueplane/reason": reason[:200]}, run_config=follow_run_config())


@dg.sensor(job=analytics_catchup_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Refreshes token_usage and the analytics when stored events are waiting "
                       "for them and no run is in flight: covers events stored outside Dagster "
                       "(`blueplane import`, `blueplane ingest`), which declarative automation "
                       "cannot see.")
def analytics_catchup_sensor(context: dg.SensorEvaluationContext, blueplane: BlueplaneResource):
    in_flight = context.instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=1)
    if in_flight:
        return dg.SkipReason("a run is in flight; the analytics are checked again next tick")
    from blueplane_pipeline.read.backlog import analytics_backlog

    conn = blueplane.reader()
    if conn is None:
        return dg.SkipReason("no database yet")
    try:
        backlog = analytics_backlog(conn)
    finally:
        conn.close()
    events, days = backlog.get("events_waiting") or 0, backlog.get("days_waiting") or 0
    if not events and not days:
        return dg.SkipReason("the analytics are up to date")
    return dg.RunRequest(tags={"blueplane/reason": f"{events} events, {days} days waiting"},
                         run_config=QUIET_LOGS)


# Declarative automation (the analytics assets carry eager-like conditions): stopped by
# default, since follow runs keep the analytics fresh; start it in the UI to have the
# analytics refreshed by runs of their own after each materialization of raw_events.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=10,
)


# ------------------------------------------------------------------ import sensors

def _fingerprint(items: list[tuple]) -> str:
    return hashlib.blake2b(repr(sorted(items)).encode(), digest_size=12).hexdigest()


def import_decision(context: dg.SensorEvaluationContext, job_name: str, changed: list[tuple],
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
    return dg.RunRequest(tags={"blueplane/reason": f"{len(changed)} {what} new or changed"},
                         run_config=QUIET_LOGS)


def _import_sensor(platform, job: dg.JobDefinition) -> dg.SensorDefinition:
    importer = platform.attr("IMPORTER")
    what = f"{platform.label} {importer.what}"

    @dg.sensor(name=f"{platform.name}_import_sensor", job=job,
               minimum_interval_seconds=importer.sensor_interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Requests {job.name} when {what} grew or appeared "
                           "(stats only; the job reads).")
    def import_sensor(context: dg.SensorEvaluationContext, blueplane: BlueplaneResource):
        from blueplane_pipeline.sources.offsets import load_states_readonly

        states = load_states_readonly(blueplane.db_path, importer.state_source)
        changed = importer.changed(states, importer.default_dirs())
        return import_decision(context, job.name, changed, what)

    return import_sensor


def _import_sensors() -> list[dg.SensorDefinition]:
    from blueplane_pipeline.core import platforms

    return [_import_sensor(platforms.get(name), job) for name, job in IMPORT_JOBS.items()]


IMPORT_SENSORS = _import_sensors()
SENSORS = [redis_stream_sensor, automation_sensor, analytics_catchup_sensor, *IMPORT_SENSORS]
