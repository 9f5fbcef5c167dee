"""The one ingest function: stream + spool -> ``raw_events``. Used by Dagster and the CLI.

Order of work in a run: reclaim entries stale in dead consumers, re-read our own pending
entries (a previous run died between commit and ack), read new entries in batches, drain
the spool, trim what every group acknowledged. Each batch is committed in SQLite before it
is acknowledged in Redis, and ``event_id`` is unique, so a crash anywhere loses nothing
and duplicates nothing.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis

from blueplane_pipeline.analytics.metrics import percentile
from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.core.times import utc_now
from blueplane_pipeline.storage.db import checkpoint, open_db
from blueplane_pipeline.storage.raw_events import (
    InvalidEvent,
    NormalEvent,
    RawEventWriter,
    WriteResult,
    normalise,
)

log = logging.getLogger("blueplane.ingest")

BATCH_SIZE = 1000


@dataclass
class IngestStats:
    events_read: int = 0
    events_stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    failed: int = 0
    reclaimed: int = 0
    spool_files: int = 0
    spool_events: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0
    seconds: float = 0.0
    lag_after: int | None = None
    trimmed: int = 0
    redis_error: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    batch_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def events_per_s(self) -> float:
        return self.events_read / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float | None:
        """The ``q``-quantile (0-1) of the batch write times (``analytics.metrics``)."""
        return percentile(self.batch_ms, q * 100)

    def add(self, result: WriteResult, elapsed_ms: float, *, timed: bool = True) -> None:
        self.events_stored += result.stored
        self.duplicates += result.duplicates
        self.raw_bytes += result.raw_bytes
        self.stored_bytes += result.stored_bytes
        if timed:
            self.batch_ms.append(elapsed_ms)
        if result.first_seq is not None:
            self.first_seq = self.first_seq or result.first_seq
            self.last_seq = result.last_seq

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("batch_ms")
        out["events_per_s"] = round(self.events_per_s, 1)
        out["batch_p50_ms"] = self.percentile_ms(0.5)
        out["batch_p95_ms"] = self.percentile_ms(0.95)
        out["seconds"] = round(self.seconds, 4)
        return out


Progress = Callable[[IngestStats], None]
# Called with a batch's stream ids after its commit and before its XACK. Tests use it to
# kill a run at the one point where a crash must neither lose nor duplicate anything.
AfterCommit = Callable[[list[bytes]], None]


def ingest(
    db_path: Path | str | None = None,
    redis_url: str | None = None,
    *,
    spool_dir: Path | None = None,
    batch_size: int = BATCH_SIZE,
    max_events: int | None = None,
    trigger: str = "cli",
    progress: Progress | None = None,
    stale_ms: int | None = None,
    after_commit: AfterCommit | None = None,
) -> IngestStats:
    """Drain the stream and the spool into SQLite. Redis being down is not an error: the
    spool is still drained and ``redis_error`` says why the stream was skipped.

    ``stale_ms``: how long another consumer's entry must sit unacknowledged before this
    run takes it over (default ``stream.STALE_MS``).
    """
    from blueplane_pipeline.ingest import stream

    started, t0 = utc_now(), time.perf_counter()
    stats = IngestStats()
    conn = open_db(db_path or config.db_path())
    try:
        writer = RawEventWriter(conn)
        r = None
        try:
            r = stream.client(redis_url)
            stream.ensure_group(r)
            stats.reclaimed = stream.reclaim_stale(
                r, stream.STALE_MS if stale_ms is None else stale_ms)
            for pending in (True, False):
                _drain_stream(r, writer, stats, batch_size, max_events, progress,
                              pending=pending, after_commit=after_commit)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            stats.redis_error = f"Redis unreachable ({exc.__class__.__name__}): {exc}"
            log.warning("stream skipped: %s", stats.redis_error)
            r = None
        _drain_spool(spool_dir or config.spool_dir(), writer, stats, batch_size, r)
        if r is not None:
            stats.trimmed = stream.trim_acknowledged(r)
            stats.lag_after = stream.state(r).lag
        stats.seconds = time.perf_counter() - t0
        try:
            _record_run(conn, stats, started, trigger)
        except sqlite3.OperationalError as exc:  # e.g. the disk filled after the last commit
            log.warning("could not record the run (its events are stored): %s", exc)
        # Once per run rather than inside some batch: keeps the WAL short for readers. A
        # failed checkpoint loses nothing (the WAL is durable): a warning, not a failure.
        try:
            checkpoint(conn)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed (nothing lost): %s", exc)
    finally:
        conn.close()
    log.info("ingest done %s", stats.as_dict())
    return stats


def _drain_stream(r, writer, stats, batch_size, max_events, progress, *, pending: bool,
                  after_commit: AfterCommit | None = None) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from blueplane_pipeline.ingest import stream

    def budget(read: int) -> int:
        return batch_size if max_events is None else min(batch_size, max_events - read)

    if pending:
        after = b"0"
        while (count := budget(stats.events_read)) > 0:
            entries = stream.read_pending(r, count, after)
            if not entries:
                return
            _store_entries(r, writer, stats, entries, progress, after_commit)
            after = entries[-1][0]
        return
    # New entries: the next batch is read (a wait on Redis) while this one is stored. A
    # batch read ahead and not stored when a run dies stays pending and is re-read first.
    # (Also committing batch N-1 in a thread while N is parsed was measured: under the
    # machine's other load it cost ~3 us of CPU per event more and drained slower.)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bp-read") as pool:
        count = budget(stats.events_read)
        ahead = pool.submit(stream.read_new, r, count) if count > 0 else None
        while ahead is not None:
            entries = ahead.result()
            if not entries:
                return
            count = budget(stats.events_read + len(entries))
            ahead = pool.submit(stream.read_new, r, count) if count > 0 else None
            _store_entries(r, writer, stats, entries, progress, after_commit)


Prepared = tuple[list, list, dict, list]  # (events, their ids, failed ids, the entries)


def _prepare(entries, stats) -> Prepared:
    """Normalise one batch: the good events and their ids, and why each other entry failed."""
    stats.events_read += len(entries)
    good: list[NormalEvent] = []
    good_ids: list[bytes] = []
    failed: dict[bytes, str] = {}
    # Parsing a batch allocates ~100 containers per event and frees them at once: no
    # cycles to find, yet the cyclic collector would run hundreds of times per batch.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _normalise_all(entries, good, good_ids, failed)
    finally:
        if collecting:
            gc.enable()
    return good, good_ids, failed, entries


def _normalise_all(entries, good: list, good_ids: list, failed: dict) -> None:
    for eid, fields in entries:
        try:
            raw = fields.get(b"e")
            if raw is None:
                raise InvalidEvent("entry has no 'e' field")
            good.append(normalise(raw))
            good_ids.append(eid)
        except InvalidEvent as exc:
            failed[eid] = str(exc)
        except Exception as exc:  # noqa: BLE001 - one odd entry must not stall the stream
            failed[eid] = f"cannot normalise: {type(exc).__name__}: {exc}"[:500]


def _commit_and_ack(r, writer, stats, batch: Prepared, after_commit) -> None:
    """Commit, then acknowledge one prepared batch; count failures toward the DLQ."""
    from blueplane_pipeline.ingest import stream

    good, good_ids, failed, entries = batch
    t = time.perf_counter()
    stored_ids = _write_isolating(writer, stats, good, good_ids, failed)
    stats.batch_ms.append((time.perf_counter() - t) * 1000)
    if after_commit is not None:
        after_commit(stored_ids)
    stream.ack(r, stored_ids)  # only after the commit above
    if failed:
        stats.failed += len(failed)
        stats.dead_lettered += stream.record_failures(
            r, failed, {eid: f for eid, f in entries if eid in failed})


def _store_entries(r, writer, stats, entries, progress, after_commit) -> None:
    """Normalise, commit, then acknowledge one batch; count failures toward the DLQ.

    Whatever goes wrong with one entry (not an envelope, a value SQLite cannot hold, a bug
    of ours on some odd input) counts as a failed delivery of that entry, never of the
    batch: after ``MAX_FAILURES`` it is dead-lettered and the stream moves on. Only an
    environmental failure (the database locked, read-only or full) fails the whole run,
    and then nothing is acknowledged, so the next run retries everything.
    """
    _commit_and_ack(r, writer, stats, _prepare(entries, stats), after_commit)
    if progress:
        progress(stats)


def _write_isolating(writer, stats, events: list[NormalEvent], ids: list[bytes],
                     failed: dict[bytes, str]) -> list[bytes]:
    """Write the batch; if it fails for a reason of its own (not the database's), write its
    events one by one so the culprit is found and the rest are stored. Returns the ids of
    what is now committed."""
    try:
        stats.add(writer.write(events), 0.0, timed=False)
        return ids
    except sqlite3.OperationalError:
        raise  # locked, read-only, disk full: the run fails, nothing is acknowledged
    except Exception:  # noqa: BLE001 - one of them is odd: find which
        pass
    stored: list[bytes] = []
    for event, eid in zip(events, ids, strict=True):
        try:
            stats.add(writer.write([event]), 0.0, timed=False)
            stored.append(eid)
        except sqlite3.OperationalError:
            raise
        except Exception as exc:  # noqa: BLE001
            failed[eid] = f"cannot store: {type(exc).__name__}: {exc}"[:500]
    return stored


def _drain_spool(spool_path: Path, writer, stats, batch_size: int, r) -> None:
    """Store spooled envelopes, many files per write (the hook spools one event per file
    while Redis is down); a file is deleted only after all its events are committed."""
    from blueplane_pipeline.ingest import stream

    good: list[NormalEvent] = []
    done: list[tuple[Path, int, dict[bytes, str]]] = []  # (file, good events, bad lines)

    def flush() -> None:
        for i in range(0, len(good), batch_size):
            t = time.perf_counter()
            stats.add(writer.write(good[i : i + batch_size]), (time.perf_counter() - t) * 1000)
        for path, n_good, bad in done:
            if bad:
                if r is None:
                    continue  # keep the file until the dead-letter queue can take its bad lines
                stream.dead_letter_now(r, bad)
                stats.dead_lettered += len(bad)
            stats.spool_files += 1
            stats.spool_events += n_good
            stats.events_read += n_good + len(bad)
            # Another ingest may have stored the same file at the same time: its events
            # were duplicates here (event_id is unique) and the file is already gone.
            path.unlink(missing_ok=True)
        good.clear()
        done.clear()

    for path in spool.pending_files(spool_path):
        bad: dict[bytes, str] = {}
        n_good = 0
        try:
            lines = list(spool.read_lines(path))
        except FileNotFoundError:
            continue  # another ingest drained it between the listing and now
        for line in lines:
            try:
                good.append(normalise(line))
                n_good += 1
            except InvalidEvent as exc:
                bad[line] = f"spool {path.name}: {exc}"
            except Exception as exc:  # noqa: BLE001 - as for stream entries
                bad[line] = f"spool {path.name}: cannot normalise: {type(exc).__name__}"
        done.append((path, n_good, bad))
        if len(good) >= batch_size:
            flush()
    flush()


def _record_run(conn, stats: IngestStats, started: str, trigger: str) -> None:
    d = stats.as_dict()
    conn.execute(
        "INSERT INTO ingest_runs (started_at, finished_at, trigger, events_read, events_stored,"
        " duplicates, dead_lettered, spool_files, raw_bytes, stored_bytes, seconds,"
        " events_per_s, batch_p50_ms, batch_p95_ms, lag_after)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (started, utc_now(), trigger, stats.events_read, stats.events_stored, stats.duplicates,
         stats.dead_lettered, stats.spool_files, stats.raw_bytes, stats.stored_bytes,
         d["seconds"], d["events_per_s"], d["batch_p50_ms"], d["batch_p95_ms"], stats.lag_after),
    )
