"""Deleting everything captured before a date: raw events and the rows derived from them.

Raw events live in compressed blocks of up to 1,000 events (``storage.raw_events``), so a
block can hold events on both sides of the cutoff. Blocks entirely before it are deleted;
mixed blocks are decompressed, rewritten with only the later events (same dictionary) and
their rows renumbered, so no purged body survives inside a kept block. ``secure_delete``
overwrites freed pages with zeros.

Derived rows: sessions that ended before the cutoff disappear with their tool calls, turns
and edits; sessions that straddle it lose their rows too and are rebuilt from their
remaining events by the next analytics refresh (the session watermark is lowered to their
first remaining event). ``token_usage`` rows before the cutoff are deleted (and the usage
watermark reset, so a later copy of a purged message is found again), rollup rows of
earlier days deleted, and every day the affected sessions touched is queued in
``analytics_dirty_days`` so its rollups are recomputed. Watermarks never stay above the
highest remaining ``seq`` (SQLite reuses seq numbers after the last event is deleted).
Import offsets are kept on purpose: re-importing must not bring purged lines back.

Re-running a purge that was interrupted finishes it: each step is its own transaction and
every step finds its work again from what is left.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from blueplane_pipeline.core.times import iso_ms
from blueplane_pipeline.storage.codec import Codec
from blueplane_pipeline.storage.db import compact, write_transaction

SESSION_TABLES = ("sessions", "tool_calls", "turns", "file_edits")
BLOCKS_PER_TRANSACTION = 50  # keeps each write lock short so ingest can interleave


@dataclass
class PurgeStats:
    cutoff: str
    events: int = 0
    blocks_deleted: int = 0
    blocks_rewritten: int = 0
    sessions_deleted: int = 0
    sessions_to_rebuild: int = 0
    token_rows: int = 0
    rollup_rows: int = 0
    search_docs: int = 0
    days_marked: int = 0
    seconds: float = 0.0
    rebuild_ids: list[str] = field(default_factory=list)


def cutoff_ms(day: str) -> int:
    """``YYYY-MM-DD`` -> epoch ms of that day's 00:00 UTC (``ValueError`` if malformed)."""
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)



def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def plan(conn: sqlite3.Connection, cutoff: int) -> PurgeStats:
    """What ``purge`` would delete (read-only), for the confirmation prompt."""
    stats = PurgeStats(iso_ms(cutoff))
    tables = _tables(conn)
    straddling_raw: set[str] = set()
    if "raw_events" in tables:
        stats.events = conn.execute("SELECT count(*) FROM raw_events WHERE ts_ms < ?",
                                    (cutoff,)).fetchone()[0]
        straddling_raw = _straddling_raw(conn, cutoff)
    if "sessions" in tables:
        gone, straddling = _derived_sessions(conn, cutoff, straddling_raw)
        stats.sessions_deleted, stats.sessions_to_rebuild = len(gone), len(straddling)
    if "token_usage" in tables:
        stats.token_rows = conn.execute("SELECT count(*) FROM token_usage WHERE ts_ms < ?",
                                        (cutoff,)).fetchone()[0]
    return stats


def purge(conn: sqlite3.Connection, cutoff: int,
          progress: Callable[[int, int], None] | None = None) -> PurgeStats:
    """Delete raw events with ``ts < cutoff`` and what was derived from them.

    ``conn`` is a writer connection (``storage.db.open_db``); ``progress(done, total)`` is
    called per batch of blocks.
    """
    t0 = time.perf_counter()
    stats = PurgeStats(iso_ms(cutoff))
    conn.execute("PRAGMA secure_delete=ON")
    tables = _tables(conn)
    straddling_raw: set[str] = set()
    if "raw_events" in tables:
        straddling_raw = _straddling_raw(conn, cutoff)
        _purge_raw(conn, cutoff, stats, progress)
    if "token_usage" in tables:
        with write_transaction(conn):
            stats.token_rows = conn.execute("DELETE FROM token_usage WHERE ts_ms < ?",
                                            (cutoff,)).rowcount
    if "sessions" in tables:
        _purge_derived(conn, cutoff, straddling_raw, stats)
    if "search_docs" in tables:
        _purge_search(conn, cutoff, stats)
    _lower_watermarks(conn, tables, stats)
    # secure_delete zeroes what the purge freed, but the WAL and the old pages still hold
    # copies until they are checkpointed and the file is rebuilt.
    compact(conn)
    stats.seconds = round(time.perf_counter() - t0, 3)
    return stats


# ------------------------------------------------------------------------------ raw events


def _straddling_raw(conn: sqlite3.Connection, cutoff: int) -> set[str]:
    """Sessions with raw events on both sides of the cutoff."""
    return {r[0] for r in conn.execute(
        "SELECT s.session_id FROM raw_events r JOIN event_sessions s ON s.session = r.session"
        " GROUP BY r.session HAVING sum(r.ts_ms < ?) > 0 AND sum(r.ts_ms >= ?) > 0",
        (cutoff, cutoff))}


def _purge_raw(conn: sqlite3.Connection, cutoff: int, stats: PurgeStats,
               progress: Callable[[int, int], None] | None) -> None:
    blocks = conn.execute(
        "SELECT block_id, count(*), sum(ts_ms < ?) FROM raw_events GROUP BY block_id"
        " HAVING sum(ts_ms < ?) > 0 ORDER BY block_id", (cutoff, cutoff)).fetchall()
    codec = Codec()
    has_spans = "session_spans" in _tables(conn)
    for i in range(0, len(blocks), BLOCKS_PER_TRANSACTION):
        batch = blocks[i : i + BLOCKS_PER_TRANSACTION]
        with write_transaction(conn):
            for block_id, total, old in batch:
                if old == total:
                    _delete_block(conn, block_id, has_spans)
                    stats.blocks_deleted += 1
                else:
                    _rewrite_block(conn, codec, block_id, cutoff, has_spans)
                    stats.blocks_rewritten += 1
                stats.events += old
        if progress:
            progress(min(i + BLOCKS_PER_TRANSACTION, len(blocks)), len(blocks))


def _delete_block(conn: sqlite3.Connection, block_id: int, has_spans: bool) -> None:
    conn.execute("DELETE FROM raw_events WHERE block_id = ?", (block_id,))
    if has_spans:
        conn.execute("DELETE FROM session_spans WHERE block_id = ?", (block_id,))
    conn.execute("DELETE FROM raw_event_blocks WHERE block_id = ?", (block_id,))


def _rewrite_block(conn: sqlite3.Connection, codec: Codec, block_id: int, cutoff: int,
                   has_spans: bool) -> None:
    """Keep only the block's events at or after the cutoff, compressed again."""
    data, dict_id, raw_bytes = conn.execute(
        "SELECT data, dict_id, raw_bytes FROM raw_event_blocks WHERE block_id = ?",
        (block_id,)).fetchone()
    if not codec.has_dict(dict_id):
        (dict_data,) = conn.execute("SELECT data FROM codec_dicts WHERE dict_id = ?",
                                    (dict_id,)).fetchone()
        codec.add_dict(dict_id, dict_data)
    bodies = codec.decompress(data, dict_id)
    kept = conn.execute("SELECT seq, block_pos FROM raw_events WHERE block_id = ? AND ts_ms >= ?"
                        " ORDER BY block_pos", (block_id, cutoff)).fetchall()
    new_bodies = [bodies[pos] for _, pos in kept]
    # raw_bytes (the envelopes' JSON size) is not stored per event: scale it by body size.
    share = sum(map(len, new_bodies)) / max(1, sum(map(len, bodies)))
    conn.execute("DELETE FROM raw_events WHERE block_id = ? AND ts_ms < ?", (block_id, cutoff))
    conn.executemany("UPDATE raw_events SET block_pos = ? WHERE seq = ?",
                     [(new_pos, seq) for new_pos, (seq, _) in enumerate(kept)])
    conn.execute("UPDATE raw_event_blocks SET data = ?, n_events = ?, raw_bytes = ?"
                 " WHERE block_id = ?",
                 (codec.compress(new_bodies, dict_id), len(new_bodies),
                  int(raw_bytes * share), block_id))
    if has_spans:
        conn.execute("DELETE FROM session_spans WHERE block_id = ?", (block_id,))
        conn.execute("INSERT INTO session_spans (session, block_id, first_seq, last_seq)"
                     " SELECT session, block_id, min(seq), max(seq) FROM raw_events"
                     " WHERE block_id = ? AND session IS NOT NULL GROUP BY session",
                     (block_id,))


# ---------------------------------------------------------------------------- derived rows


def _derived_sessions(conn: sqlite3.Connection, cutoff: int,
                      straddling_raw: set[str]) -> tuple[list[str], list[str]]:
    """(sessions wholly before the cutoff, sessions across it)."""
    iso = iso_ms(cutoff)
    gone = [r[0] for r in conn.execute(
        "SELECT session_id FROM sessions WHERE ended_at < ?", (iso,))]
    across = {r[0] for r in conn.execute(
        "SELECT session_id FROM sessions WHERE started_at < ? AND ended_at >= ?", (iso, iso))}
    known = {r[0] for r in conn.execute("SELECT session_id FROM sessions")}
    across |= straddling_raw & known
    return gone, sorted(across - set(gone))


def _purge_derived(conn: sqlite3.Connection, cutoff: int, straddling_raw: set[str],
                   stats: PurgeStats) -> None:
    gone, across = _derived_sessions(conn, cutoff, straddling_raw)
    stats.sessions_deleted, stats.sessions_to_rebuild = len(gone), len(across)
    stats.rebuild_ids = across
    day = iso_ms(cutoff)[:10]
    tables = _tables(conn)
    with write_transaction(conn):
        days: set[str] = set()
        ids = gone + across
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for table in ("sessions", "tool_calls", "turns", "file_edits"):
                if table not in tables:
                    continue
                days.update(r[0] for r in conn.execute(
                    f"SELECT DISTINCT day FROM {table} WHERE session_id IN ({marks})", chunk))
                conn.execute(f"DELETE FROM {table} WHERE session_id IN ({marks})", chunk)
        for table in ("metrics_daily", "tool_metrics"):
            if table in tables:
                stats.rollup_rows += conn.execute(f"DELETE FROM {table} WHERE day < ?",
                                                  (day,)).rowcount
        if "insights" in tables:
            # Recomputed on every refresh; drop those whose window reaches before the cutoff.
            conn.execute("DELETE FROM insights WHERE window_start < ?", (day,))
        if "analytics_dirty_days" in tables:
            conn.executemany("INSERT OR IGNORE INTO analytics_dirty_days (day) VALUES (?)",
                             [(d,) for d in days if d])
            stats.days_marked = len(days)


def _purge_search(conn: sqlite3.Connection, cutoff: int, stats: PurgeStats) -> None:
    """Search entries from before the cutoff; ``optimize`` rewrites the FTS5 segments so
    no purged word stays in the index (this SQLite's FTS5 has no secure-delete)."""
    with write_transaction(conn):
        conn.execute("DELETE FROM search_fts WHERE rowid IN"
                     " (SELECT doc_id FROM search_docs WHERE ts_ms < ?)", (cutoff,))
        stats.search_docs = conn.execute("DELETE FROM search_docs WHERE ts_ms < ?",
                                         (cutoff,)).rowcount
        conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")


def _lower_watermarks(conn: sqlite3.Connection, tables: set[str], stats: PurgeStats) -> None:
    """Make the next refreshes read what they must rebuild, and never skip new events."""
    if "raw_events" not in tables:
        return
    top = conn.execute("SELECT coalesce(max(seq), 0) FROM raw_events").fetchone()[0]
    firsts = [_first_seq(conn, tables, stats.rebuild_ids[i : i + 500])
              for i in range(0, len(stats.rebuild_ids), 500)]
    with write_transaction(conn):
        if "analytics_state" in tables:
            row = conn.execute("SELECT value FROM analytics_state WHERE name = ?",
                               ("sessions.last_seq",)).fetchone()
            if row is not None:
                mark = min([int(row[0] or 0), top] + [f - 1 for f in firsts if f])
                conn.execute("UPDATE analytics_state SET value = ? WHERE name = ?",
                             (str(mark), "sessions.last_seq"))
            conn.execute("UPDATE analytics_state SET value = ? WHERE name = 'search.last_seq'"
                         " AND CAST(value AS INTEGER) > ?", (str(top), top))
        if "token_usage_state" in tables:
            # A purged message may have a later copy (a resumed or forked transcript) among
            # the kept events that dedup had set aside: re-read them all (upserts are
            # idempotent), and never stay above the highest remaining seq.
            mark = 0 if stats.token_rows else top
            conn.execute("UPDATE token_usage_state SET value = ? WHERE name = 'raw_seq'"
                         " AND CAST(value AS INTEGER) > ?", (str(mark), mark))


def _first_seq(conn: sqlite3.Connection, tables: set[str], ids: list[str]) -> int | None:
    """The first remaining event of any of these sessions."""
    marks = ",".join("?" * len(ids))
    keys = f"(SELECT session FROM event_sessions WHERE session_id IN ({marks}))"
    if "session_spans" in tables:
        sql = f"SELECT min(first_seq) FROM session_spans WHERE session IN {keys}"
    else:
        sql = f"SELECT min(seq) FROM raw_events WHERE session IN {keys}"
    return conn.execute(sql, ids).fetchone()[0]
