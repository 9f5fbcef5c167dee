"""Import then ingest: what ``blueplane import`` and the import sensors' job run.

Events take the same path as hook events (stream, or spool if Redis is down); ``ingest``
then stores them, in-process, so the caller sees rows in ``raw_events`` when this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from blueplane_pipeline import config
from blueplane_pipeline.sources.sink import EventSink
from blueplane_pipeline.storage.db import open_db


@dataclass
class RunResult:
    imported: object  # ImportStats / CursorStats
    ingested: object | None  # IngestStats, or None when ingest was not asked for

    def as_dict(self) -> dict:
        out = {"import": self.imported.as_dict()}  # type: ignore[attr-defined]
        if self.ingested is not None:
            out["ingest"] = self.ingested.as_dict()  # type: ignore[attr-defined]
        return out


def _sink(db_path: Path, redis_url: str | None, run_ingest: bool, trigger: str) -> EventSink:
    def drain() -> None:
        from blueplane_pipeline.ingest import ingest

        ingest(db_path, redis_url, trigger=trigger)

    return EventSink(redis_url, drain=drain if run_ingest else None)


def run_claude_import(
    dirs: list[Path] | None = None,
    *,
    since_ms: int | None = None,
    db_path: Path | None = None,
    redis_url: str | None = None,
    run_ingest: bool = True,
    privacy_mode: str | None = None,
    progress=None,
    trigger: str = "import",
) -> RunResult:
    from blueplane_pipeline.sources.claude_transcripts import config_dirs, import_transcripts

    db_path = Path(db_path or config.db_path())
    mode = privacy_mode or config.load_settings().privacy_mode
    conn = open_db(db_path)
    sink = _sink(db_path, redis_url, run_ingest, trigger)
    try:
        stats = import_transcripts(conn, sink, dirs=dirs or config_dirs(), privacy_mode=mode,
                                   since_ms=since_ms, progress=progress)
    finally:
        sink.close()
        conn.close()
    return RunResult(stats, _ingest(db_path, redis_url, trigger) if run_ingest else None)


def run_cursor_import(
    dirs: list[Path] | None = None,
    *,
    db_path: Path | None = None,
    redis_url: str | None = None,
    run_ingest: bool = True,
    privacy_mode: str | None = None,
    progress=None,
    trigger: str = "import",
) -> RunResult:
    from blueplane_pipeline.sources.cursor_store import default_dirs, import_cursor

    db_path = Path(db_path or config.db_path())
    mode = privacy_mode or config.load_settings().privacy_mode
    conn = open_db(db_path)
    sink = _sink(db_path, redis_url, run_ingest, trigger)
    try:
        stats = import_cursor(conn, sink, dirs=dirs or default_dirs(), privacy_mode=mode,
                              progress=progress)
    finally:
        sink.close()
        conn.close()
    return RunResult(stats, _ingest(db_path, redis_url, trigger) if run_ingest else None)


def _ingest(db_path: Path, redis_url: str | None, trigger: str):
    from blueplane_pipeline.ingest import ingest

    return ingest(db_path, redis_url, trigger=trigger)
