"""``redis_stream_sensor``: launch ``ingest_job`` when the stream has lag or the spool has files."""


import dagster as dg

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.trigger import ingest_decision
from blueplane_pipeline.orchestration.jobs import analytics_catchup_job, ingest_job

IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
             dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _stream_state() -> tuple[int | None, int | None, str | None]:
    import redis

    from blueplane_pipeline.ingest import stream

    try:
        r = stream.client(timeout=2.0)
        try:
            s = stream.state(r)
        finally:
            r.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        return None, None, str(exc)
    return s.lag, s.pending, None


@dg.sensor(job=ingest_job, minimum_interval_seconds=5,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Launches ingest_job when blueplane:events has lag or the spool has files; "
                       "skips while an ingest run is queued or running.")
def redis_stream_sensor(context: dg.SensorEvaluationContext):
    in_flight = len(context.instance.get_run_records(
        dg.RunsFilter(job_name=ingest_job.name, statuses=IN_FLIGHT), limit=5))
    lag, pending, error = (None, None, None) if in_flight else _stream_state()
    files = 0 if in_flight else len(spool.pending_files(config.spool_dir()))
    launch, reason = ingest_decision(in_flight=in_flight, lag=lag, pending=pending,
                                     spool_files=files, redis_error=error)
    if not launch:
        return dg.SkipReason(reason)
    return dg.RunRequest(tags={"blueplane/reason": reason[:200]})


def _analytics_backlog() -> dict:
    from blueplane_pipeline.read.backlog import analytics_backlog
    from blueplane_pipeline.storage.db import connect

    if not config.db_path().exists():
        return {}
    conn = connect(config.db_path(), readonly=True)
    try:
        return analytics_backlog(conn)
    finally:
        conn.close()


@dg.sensor(job=analytics_catchup_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Refreshes token_usage and the analytics when stored events are waiting "
                       "for them and no run is in flight: covers events stored outside Dagster "
                       "(`blueplane import`, `blueplane ingest`), which declarative automation "
                       "cannot see.")
def analytics_catchup_sensor(context: dg.SensorEvaluationContext):
    in_flight = context.instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=1)
    if in_flight:
        return dg.SkipReason("a run is in flight; the analytics are checked again next tick")
    backlog = _analytics_backlog()
    events, days = backlog.get("events_waiting") or 0, backlog.get("days_waiting") or 0
    if not events and not days:
        return dg.SkipReason("the analytics are up to date")
    return dg.RunRequest(tags={"blueplane/reason": f"{events} events, {days} days waiting"})
