"""Following the stream: one long-lived drain that waits on Redis while traffic flows.

Why: a Dagster run costs ~0.2 CPU-seconds of bookkeeping and a new interpreter ~3, so a
run per sensor tick cannot follow a busy assistant cheaply. A follow starts with one whole
``ingest`` (stale entries reclaimed, our own pending ones re-read, new ones, the spool,
trim), then keeps reading new entries with ``XREADGROUP BLOCK`` and stores each batch as it
arrives, until the stream has been quiet for ``idle_s``.

Crash safety is ``ingest``'s own: every batch is committed before it is acknowledged and
``event_id`` is unique, so a follow that dies mid-batch leaves that batch pending; the next
run re-reads it first and stores nothing twice. It yields after every read (the batch's
stats, or ``None`` after a quiet wait) so its caller can report progress at its own pace.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.core.times import utc_now
from blueplane_pipeline.ingest.drain import (
    BATCH_SIZE,
    AfterCommit,
    IngestStats,
    _drain_spool,
    _record_run,
    _store_entries,
    ingest,
)
from blueplane_pipeline.storage.db import checkpoint, open_db
from blueplane_pipeline.storage.raw_events import RawEventWriter

log = logging.getLogger("blueplane.ingest")


@dataclass(frozen=True)
class FollowPace:
    """How a follow waits and keeps house (seconds unless named otherwise)."""

    idle_s: float = 60.0  # quiet this long: the follow ends (the sensor starts the next)
    wait_ms: int = 1000  # one blocking read at most this long (how fast a stop is seen)
    record_every_s: float = 10.0  # one ingest_runs row per window with events, not per batch
    housekeeping_every_s: float = 30.0  # trim acknowledged entries, drain a spool, checkpoint


def follow(
    db_path: Path | str | None = None,
    redis_url: str | None = None,
    *,
    spool_dir: Path | None = None,
    pace: FollowPace = FollowPace(),
    batch_size: int = BATCH_SIZE,
    trigger: str = "follow",
    stop: threading.Event | None = None,
    after_commit: AfterCommit | None = None,
    clock=time.monotonic,
) -> Iterator[IngestStats | None]:
    """Drain, then follow the stream until it is quiet for ``pace.idle_s`` or ``stop`` is
    set. Yields the first drain's stats, then each later batch's stats (``None`` after a
    quiet wait). Ends early, without error, when Redis goes away (the spool takes over and
    the sensor starts a drain that stores it)."""
    db_path = db_path or config.db_path()
    spool_dir = spool_dir or config.spool_dir()
    first = ingest(
        db_path,
        redis_url,
        spool_dir=spool_dir,
        batch_size=batch_size,
        trigger=trigger,
        after_commit=after_commit,
    )
    yield first
    if first.redis_error:
        return
    from blueplane_pipeline.ingest import stream

    conn = open_db(db_path)
    r = stream.client(redis_url, timeout=max(5.0, pace.wait_ms / 1000 + 5.0))
    writer = RawEventWriter(conn)
    window, window_started = IngestStats(), utc_now()
    now = clock()
    last_traffic = last_record = last_house = now
    try:
        while not (stop is not None and stop.is_set()):
            now = clock()
            if now - last_traffic >= pace.idle_s:
                break
            batch = IngestStats()
            t0 = time.perf_counter()
            try:
                entries = stream.read_new(r, batch_size, block_ms=pace.wait_ms)
                if entries:
                    _store_entries(r, writer, batch, entries, None, after_commit)
                if now - last_house >= pace.housekeeping_every_s:
                    last_house = now
                    if spool.pending_files(spool_dir):
                        _drain_spool(spool_dir, writer, batch, batch_size, r)
                    batch.trimmed = stream.trim_acknowledged(r)
                    _checkpoint(conn)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning("follow ends, Redis unreachable: %s", exc)
                break
            batch.seconds = time.perf_counter() - t0
            if batch.events_read:
                last_traffic = clock()
                merge_stats(window, batch)
                yield batch
            else:
                yield None
            if window.events_read and clock() - last_record >= pace.record_every_s:
                _record(conn, window, window_started, trigger)
                window, window_started, last_record = IngestStats(), utc_now(), clock()
        if window.events_read:
            _record(conn, window, window_started, trigger)
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError):
            stream.trim_acknowledged(r)
        _checkpoint(conn)
    finally:
        r.close()
        conn.close()


def merge_stats(into: IngestStats, batch: IngestStats) -> None:
    """Add ``batch``'s counts to ``into`` (a window of several batches)."""
    for name in (
        "events_read",
        "events_stored",
        "duplicates",
        "dead_lettered",
        "failed",
        "spool_files",
        "spool_events",
        "raw_bytes",
        "stored_bytes",
        "trimmed",
    ):
        setattr(into, name, getattr(into, name) + getattr(batch, name))
    into.seconds += batch.seconds
    into.batch_ms.extend(batch.batch_ms)
    if batch.first_seq is not None:
        into.first_seq = into.first_seq or batch.first_seq
        into.last_seq = batch.last_seq


def _record(conn: sqlite3.Connection, window: IngestStats, started: str, trigger: str) -> None:
    try:
        _record_run(conn, window, started, trigger)
    except sqlite3.OperationalError as exc:
        log.warning("could not record the follow window (its events are stored): %s", exc)


def _checkpoint(conn: sqlite3.Connection) -> None:
    try:
        checkpoint(conn)
    except sqlite3.Error as exc:
        log.warning("WAL checkpoint failed (nothing lost): %s", exc)
