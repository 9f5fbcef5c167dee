"""Keep ``DAGSTER_HOME`` bounded: a 5-second sensor can launch thousands of runs a week."""


import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED]


def prune_runs(instance: dg.DagsterInstance, *, keep_days: float, keep_last: int,
               compute_log_dir: Path | None = None) -> int:
    """Delete finished runs older than ``keep_days`` beyond the newest ``keep_last``."""
    cutoff = datetime.now(UTC) - timedelta(days=keep_days)
    records = instance.get_run_records(dg.RunsFilter(statuses=FINISHED),
                                       order_by="create_timestamp", ascending=False)
    deleted = 0
    for i, record in enumerate(records):
        if i < keep_last or record.create_timestamp > cutoff:
            continue
        run_id = record.dagster_run.run_id
        instance.delete_run(run_id)
        if compute_log_dir is not None:
            shutil.rmtree(compute_log_dir / run_id, ignore_errors=True)
        deleted += 1
    return deleted


class PruneConfig(dg.Config):
    keep_days: float = 2.0
    keep_last: int = 200


@dg.op
def prune_runs_op(context: dg.OpExecutionContext, config: PruneConfig) -> int:
    home = context.instance.root_directory
    deleted = prune_runs(context.instance, keep_days=config.keep_days, keep_last=config.keep_last,
                         compute_log_dir=Path(home) / "compute_logs" if home else None)
    context.log.info(f"pruned {deleted} finished runs")
    return deleted
