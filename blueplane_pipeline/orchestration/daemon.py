"""``blueplane-daemon``: the one always-on Dagster process of ``blueplane up``.

It replaces ``dagster-daemon run`` + ``dagster api grpc`` (two interpreters, six daemon
threads polling every few seconds) with one process that has Dagster and the definitions
imported (an in-process code location named like the code server's, so the UI's sensors
and schedules are the same ones) and runs only what the pipeline needs:

- the sensors, through Dagster's own sensor iteration (ticks, cursors and run requests are
  recorded exactly as the stock daemon records them), every ``SENSOR_EVERY_S``, and at
  once when the stream gets entries no run is reading (one ``XREAD BLOCK``: no polling);
- the schedules and backfills, through Dagster's iterations, every ``SCHEDULE_EVERY_S``;
- the runs those launch: small ones in threads of this process (``launcher``), heavy ones
  in their own process;
- heartbeats for the daemons the UI expects, so it shows them as running.

SIGTERM (``blueplane down``) ends a follow run cleanly (``host.SHUTDOWN``) before exiting.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

SENSOR_EVERY_S = 60.0  # the stream sensor is also evaluated as soon as entries arrive
SCHEDULE_EVERY_S = 60.0  # cron schedules have minute resolution
HEARTBEAT_EVERY_S = 300.0  # the UI counts a daemon healthy for 30 min after its last one
LOCATION_NAME = "blueplane"
CODE_MODULE = "blueplane_pipeline.definitions"

log = logging.getLogger("blueplane.daemon")


def ready_file():
    """Written once the instance and the code location are loaded (``up`` waits for it, so
    nothing started after it races the daemon creating Dagster's storage)."""
    from blueplane_pipeline.core import config

    return config.run_dir() / "blueplane-daemon.ready"


def _drain(iterator) -> None:
    for _ in iterator or ():
        pass


class StreamWatch(threading.Thread):
    """Sets ``wake`` when the stream holds entries no ingest run of ours is reading."""

    def __init__(
        self, launcher, wake: threading.Event, stop: threading.Event, redis_url: str
    ) -> None:
        super().__init__(name="bp-stream-watch", daemon=True)
        self._launcher, self._wake, self._stop, self._url = launcher, wake, stop, redis_url
        self.run_finished = threading.Event()

    def run(self) -> None:
        import redis

        from blueplane_pipeline.ingest import stream

        r = None
        while not self._stop.is_set():
            if "ingest_job" in self._launcher.running_jobs():
                self.run_finished.wait(30)
                self.run_finished.clear()
                continue
            try:
                r = r or stream.client(self._url, timeout=40.0)
                if stream.wait_for_lag(r, 30_000):
                    self._wake.set()
                    self._stop.wait(1.0)  # the sensor gets a second to launch its run
            except (redis.RedisError, OSError):
                r = None
                self._stop.wait(5.0)


def _heartbeat(instance, daemon_id: str) -> None:
    from dagster._daemon.daemon import BackfillDaemon, SchedulerDaemon, SensorDaemon
    from dagster._daemon.types import DaemonHeartbeat

    now = time.time()
    for cls in (SensorDaemon, SchedulerDaemon, BackfillDaemon):
        instance.add_daemon_heartbeat(DaemonHeartbeat(now, cls.daemon_type(), daemon_id, []))


def serve(stop: threading.Event) -> int:
    """Run until ``stop`` is set; the return value is the process's exit code."""
    import uuid

    from dagster import DagsterInstance
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._daemon.backfill import execute_backfill_iteration
    from dagster._daemon.sensor import execute_sensor_iteration
    from dagster._scheduler.scheduler import launch_scheduled_runs
    from dagster._time import get_current_datetime

    from blueplane_pipeline.core import config
    from blueplane_pipeline.orchestration import host
    from blueplane_pipeline.orchestration.launcher import (
        ThreadRunLauncher,
        fail_orphans,
        host_runs_in_this_process,
    )
    from blueplane_pipeline.runtime.processes import alive

    instance = DagsterInstance.get()
    launcher = instance.run_launcher
    if not isinstance(launcher, ThreadRunLauncher):
        log.error(
            "DAGSTER_HOME's run_launcher is %s, not blueplane's: run `blueplane up`",
            type(launcher).__name__,
        )
        return 2
    host_runs_in_this_process()
    for run_id in fail_orphans(instance, alive=alive):
        log.warning("run %s was left in flight by a process that is gone: marked failed", run_id)
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=CODE_MODULE),
        location_name=LOCATION_NAME,
    )
    wake = threading.Event()
    watch = StreamWatch(launcher, wake, stop, config.redis_url())
    launcher.on_finished.append(lambda run_id, job: watch.run_finished.set())
    daemon_id = str(uuid.uuid4())
    schedule_times: dict = {}
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as ctx:
        entry = next(iter(ctx.create_request_context().get_code_location_entries().values()))
        if entry.load_error is not None:
            log.error("cannot load %s: %s", CODE_MODULE, entry.load_error.to_string())
            return 1
        watch.start()
        ready_file().write_text(f"{daemon_id}\n")
        next_schedule = next_heartbeat = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_heartbeat:
                _guard("heartbeat", _heartbeat, instance, daemon_id)
                next_heartbeat = now + HEARTBEAT_EVERY_S
            _guard("sensors", lambda: _drain(execute_sensor_iteration(ctx, log, None, None)))
            if now >= next_schedule:
                _guard(
                    "schedules",
                    lambda: _drain(
                        launch_scheduled_runs(ctx, log, get_current_datetime(), schedule_times)
                    ),
                )
                _guard("backfills", lambda: _drain(execute_backfill_iteration(ctx, log)))
                next_schedule = now + SCHEDULE_EVERY_S
            wake.wait(min(SENSOR_EVERY_S, max(0.0, next_schedule - time.monotonic())))
            wake.clear()
        host.SHUTDOWN.set()
        launcher.join(timeout=30)
    ready_file().unlink(missing_ok=True)
    return 0


def _guard(what: str, fn, *args) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - one failed iteration must not end the daemon
        log.exception("%s iteration failed", what)


def main() -> None:
    from blueplane_pipeline.core import config

    config.private_umask()
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stdout,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sys.exit(serve(stop))


if __name__ == "__main__":
    main()
