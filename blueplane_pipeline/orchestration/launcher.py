"""The instance's run launcher: small runs in a thread of the long-lived daemon process,
heavy ones in a process of their own.

Why: Dagster's default launcher starts a new interpreter per run (~3 CPU-seconds and
~110 MB each), which is what made following an assistant cost more than a core. The
daemon (``orchestration.daemon``) already has Dagster and the definitions imported, so a
small run (ingest, the incremental analytics, imports, pruning) executes there with
``execute_run`` in a thread. A full rebuild, a backfill, or a run tagged
``blueplane/launch: process`` keeps its own process, so it never holds the daemon (or
ingest) up. In any other process (the webserver, ``dagster dev``) every run gets its own
process, as Dagster's ``DefaultRunLauncher`` does.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from dagster import DagsterRunStatus
from dagster._core.launcher.base import LaunchRunContext, RunLauncher
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._serdes import ConfigurableClass
from dagster._serdes.config_class import ConfigurableClassData

log = logging.getLogger("blueplane.launcher")

LAUNCH_TAG = "blueplane/launch"  # "thread" or "process": where the run executes
PID_TAG = "blueplane/pid"  # the process executing it
LIGHT_JOBS = frozenset(
    {"ingest_job", "analytics_job", "analytics_catchup_job", "prune_runs_job", "team_publish_job"}
)
LIGHT_SUFFIX = "_import_job"

_hosting = threading.Event()  # set in the daemon process only


def host_runs_in_this_process() -> None:
    """Called once by the daemon: from now on small runs execute in its threads."""
    _hosting.set()


def _mentions_full_rebuild(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(
            (k == "full_rebuild" and v is True) or _mentions_full_rebuild(v)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return any(_mentions_full_rebuild(v) for v in value)
    return False


def is_heavy(job_name: str, tags: Mapping[str, str], run_config: Mapping) -> bool:
    """Runs that get a process of their own: unknown jobs, backfills, full rebuilds, and
    anything tagged ``blueplane/launch: process``."""
    if tags.get(LAUNCH_TAG) == "process" or "dagster/backfill" in tags:
        return True
    if job_name not in LIGHT_JOBS and not job_name.endswith(LIGHT_SUFFIX):
        return True
    return _mentions_full_rebuild(run_config)


class ThreadRunLauncher(RunLauncher, ConfigurableClass):
    """``run_launcher`` of blueplane's ``dagster.yaml`` (see the module docstring)."""

    def __init__(self, inst_data: ConfigurableClassData | None = None) -> None:
        self._inst_data = inst_data
        self._lock = threading.Lock()
        self._threads: dict[str, tuple[str, threading.Thread]] = {}
        self._children: dict[str, subprocess.Popen] = {}
        self.on_finished: list[Callable[[str, str], None]] = []
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> ThreadRunLauncher:
        return cls(inst_data=inst_data)

    # ------------------------------------------------------------------ launching
    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        if _hosting.is_set() and not is_heavy(run.job_name, run.tags, run.run_config):
            self._launch_thread(run)
        elif _hosting.is_set() or context.workspace is None:
            self._launch_process(run)
        else:  # the webserver: its code server starts the run's process
            DefaultRunLauncher.launch_run_from_grpc_client(
                self._instance, run, _grpc_client(context, run)
            )

    def _launch_thread(self, run) -> None:
        self._instance.add_run_tags(run.run_id, {LAUNCH_TAG: "thread", PID_TAG: str(os.getpid())})
        thread = threading.Thread(
            target=self._execute,
            args=(run.run_id, run.job_name),
            name=f"bp-run-{run.run_id[:8]}",
            daemon=True,
        )
        with self._lock:
            self._threads[run.run_id] = (run.job_name, thread)
        thread.start()

    def _execute(self, run_id: str, job_name: str) -> None:
        from dagster._core.execution.api import execute_run
        from dagster._utils.hosted_user_process import recon_job_from_origin

        try:
            run = self._instance.get_run_by_id(run_id)
            recon = recon_job_from_origin(run.job_code_origin)
            self._instance.report_engine_event(
                f"Executing in a thread of the blueplane daemon (pid {os.getpid()}).", run
            )
            execute_run(recon, run, self._instance)
        except Exception as exc:  # noqa: BLE001 - the run must not stay STARTED forever
            log.exception("run %s failed outside its steps", run_id)
            run = self._instance.get_run_by_id(run_id)
            if run is not None and not run.is_finished:
                self._instance.report_run_failed(run, f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._threads.pop(run_id, None)
            for callback in list(self.on_finished):
                callback(run_id, job_name)

    def _launch_process(self, run) -> None:
        from dagster._grpc.types import ExecuteRunArgs
        from dagster._serdes import serialize_value

        args = serialize_value(
            ExecuteRunArgs(
                job_origin=run.job_code_origin,
                run_id=run.run_id,
                instance_ref=self._instance.get_ref(),
            )
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster", "api", "execute_run", args], stdin=subprocess.DEVNULL
        )
        self._instance.add_run_tags(run.run_id, {LAUNCH_TAG: "process", PID_TAG: str(proc.pid)})
        with self._lock:
            self._children[run.run_id] = proc

    # ------------------------------------------------------------------ asking
    def running_jobs(self) -> set[str]:
        """Jobs with a run executing in a thread of this process right now."""
        with self._lock:
            self._children = {k: p for k, p in self._children.items() if p.poll() is None}
            return {job for job, _ in self._threads.values()}

    def terminate(self, run_id: str) -> bool:
        """A run in its own process is sent SIGTERM; one in a thread cannot be stopped
        from outside (a follow run ends on its own after its idle period)."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        pid = run.tags.get(PID_TAG)
        if run.tags.get(LAUNCH_TAG) != "process" or not pid:
            self._instance.report_engine_event(
                "Runs executing in a thread of the blueplane daemon cannot be terminated; "
                "`blueplane down` stops them cleanly.",
                run,
            )
            return False
        self._instance.report_run_canceling(run)
        try:
            os.kill(int(pid), 15)
        except (OSError, ValueError):
            return False
        return True

    def join(self, timeout: float = 30) -> None:
        with self._lock:
            threads = [t for _, t in self._threads.values()]
        for thread in threads:
            thread.join(timeout)

    def dispose(self) -> None:
        self.join(0)


def _grpc_client(context: LaunchRunContext, run):
    from dagster._core.remote_representation.code_location import GrpcServerCodeLocation

    name = run.remote_job_origin.repository_origin.code_location_origin.location_name
    location = context.workspace.get_code_location(name)
    if not isinstance(location, GrpcServerCodeLocation):
        raise RuntimeError(f"cannot launch {run.run_id}: {name} is not a gRPC code location")
    return location.client


def fail_orphans(instance, *, alive: Callable[[int], bool]) -> list[str]:
    """Mark runs whose executing process is gone as failed (a daemon that was killed
    leaves its thread runs STARTED): the sensor would otherwise wait for them forever.
    Nothing is lost: their batches were acknowledged only after their commit."""
    import dagster as dg

    in_flight = [
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    ]
    failed = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=in_flight)):
        run = record.dagster_run
        try:
            pid = int(run.tags.get(PID_TAG, ""))
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        # One daemon per home: a thread run of another daemon process is an orphan even
        # if that pid now belongs to something else.
        if run.tags.get(LAUNCH_TAG) != "thread" and alive(pid):
            continue
        instance.report_run_failed(
            run, json.dumps({"reason": "the process executing this run is gone", "pid": pid})
        )
        failed.append(run.run_id)
    return failed
