"""Our own ``dagster.yaml`` under ``$BLUEPLANE_HOME/dagster`` (``DAGSTER_HOME``).

Why not Dagster's defaults: they send telemetry, greet every new user with a dialog asking
for an email ("Join the Dagster community"), write one event-log SQLite file per run, start
a new interpreter per run and need a queue daemon to start any. Here telemetry and that
dialog are off, the event log is one consolidated SQLite file, runs are launched as soon
as they are submitted (the stream sensor itself keeps ingest runs one at a time), by
blueplane's launcher (``launcher.ThreadRunLauncher``: small runs in a thread of the
daemon, heavy ones in their own process), step output is not captured to files (it is one
shared process; Dagster's own event log keeps every structured log line), and sensor ticks
are purged.
"""

from __future__ import annotations

from pathlib import Path

from blueplane_pipeline.core import config

INGEST_TAG = "blueplane/ingest"

TEMPLATE = """\
# Written by blueplane; edits are overwritten by `blueplane up`.
telemetry:
  enabled: false
nux:
  enabled: false
local_artifact_storage:
  module: dagster._core.storage.root
  class: LocalArtifactStorage
  config:
    base_dir: {home}
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: blueplane_pipeline.orchestration.launcher
  class: ThreadRunLauncher
freshness:
  enabled: false
run_storage:
  module: dagster._core.storage.runs
  class: SqliteRunStorage
  config:
    base_dir: {home}/storage
event_log_storage:
  module: dagster._core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir: {home}/storage
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: {home}/storage
retention:
  schedule:
    purge_after_days: 7
  sensor:
    purge_after_days:
      skipped: 1
      failure: 7
      success: 7
  auto_materialize:
    purge_after_days:
      skipped: 1
      failure: 7
      success: 7
"""


def ensure_instance() -> Path:
    """Write ``dagster.yaml`` into ``DAGSTER_HOME`` and return that directory."""
    home = config.dagster_home()
    (home / "dagster.yaml").write_text(TEMPLATE.format(home=home))
    return home
