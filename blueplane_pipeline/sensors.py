"""``redis_stream_sensor``: launch ``ingest_job`` when the stream has lag or the spool has files."""


import dagster as dg

from blueplane_pipeline import config
from blueplane_pipeline.capture import spool
from blueplane_pipeline.ingest_trigger import ingest_decision
from blueplane_pipeline.jobs import ingest_job

IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
             dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _stream_state() -> tuple[int | None, int | None, str | None]:
    import redis

    from blueplane_pipeline import stream

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
