"""Our own ``dagster.yaml`` under ``$BLUEPLANE_HOME/dagster`` (``DAGSTER_HOME``).

Why not Dagster's defaults: they send telemetry, greet every new user with a dialog asking
for an email ("Join the Dagster community"), write one event-log SQLite file per run and let
ingest runs pile up. Here telemetry and that dialog are off, the event log is one
consolidated SQLite file, ingest runs are limited to one at a time by tag, and sensor ticks
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
  module: dagster._core.storage.local_compute_log_manager
  class: LocalComputeLogManager
  config:
    base_dir: {home}/compute_logs
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
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: {tag}
        limit: 1
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
    (home / "dagster.yaml").write_text(TEMPLATE.format(home=home, tag=INGEST_TAG))
    return home
