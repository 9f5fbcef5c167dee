"""Incremental refresh of sessions, tool_calls, turns and file_edits.

Only events after the watermark (``sessions.last_seq``) are read. A session they touch is
rebuilt from all of its events (late or out-of-order events thus correct it); a session seen
for the first time is built from the new events alone, so a full rebuild — the same code
with the watermark at 0 and empty tables — reads every event exactly once, building and
writing each new session as soon as its last event has gone by. Sessions with
calls still pending are rebuilt every time, because "no outcome for 10 minutes" depends on
newer data. Every day a rebuilt session had or has rows on is queued for the rollups.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from blueplane_pipeline.analytics import otel_join, state
from blueplane_pipeline.analytics.facts import Fact, event_ts, extract
from blueplane_pipeline.analytics.session_build import SessionRows, build_session
from blueplane_pipeline.analytics.token_source import TOKEN_COLUMNS, token_rows_sql
from blueplane_pipeline.storage.db import has_table, write_transaction
from blueplane_pipeline.storage.reader import iter_events, max_seq

SESSION_TABLES = ("sessions", "tool_calls", "turns", "file_edits")
WRITE_BATCH_SESSIONS = 1000  # sessions per write transaction (lets ingest interleave)


@dataclass
class SessionRefreshStats:
    events_read: int = 0
    new_events: int = 0
    events_without_session: int = 0
    sessions_rebuilt: int = 0
    rows_written: dict = field(default_factory=dict)
    tokens_updated: int = 0
    last_seq: int = 0
    seconds: float = 0.0
    full_rebuild: bool = False


Progress = Callable[[int], None]


def refresh_sessions(conn: sqlite3.Connection, *, full: bool = False,
                     progress: Progress | None = None) -> SessionRefreshStats:
    t0 = time.perf_counter()
    stats = SessionRefreshStats(full_rebuild=full)
    if full:
        _clear(conn)
    since = state.get(conn, "sessions.last_seq")
    top = max_seq(conn)
    now_ms = state.get(conn, "sessions.now_ms")
    rows_written = dict.fromkeys(SESSION_TABLES, 0)
    rebuilt: set[str] = set()

    def write(facts: dict[str, list[Fact]]) -> None:
        built = _build_owning(conn, facts, now_ms, top, stats)
        for batch in state.chunks(built, WRITE_BATCH_SESSIONS):
            with write_transaction(conn):
                _replace(conn, batch, rows_written)
        rebuilt.update(b.session["session_id"] for b in built)

    # 1. New events, in order. A session whose last event (up to ``top``) has gone by is
    #    complete: if it is new, build and write it now, so a full rebuild never holds
    #    the whole database's facts at once.
    last_seqs = _last_seqs(conn, since, top)
    new_facts: dict[str, list[Fact]] = defaultdict(list)
    complete: dict[str, list[Fact]] = {}
    known: set[str] = set()
    for ev in iter_events(conn, since_seq=since, until_seq=top):
        stats.new_events += 1
        sid = ev.envelope.get("session_id")
        now_ms = max(now_ms, event_ts(ev.envelope))
        if not sid:
            stats.events_without_session += 1
            continue
        new_facts[sid].extend(extract(ev.seq, ev.envelope))
        if last_seqs.get(sid) == ev.seq:
            complete[sid] = new_facts.pop(sid)
            if len(complete) >= WRITE_BATCH_SESSIONS:
                known |= _flush_new(conn, complete, write)
        if progress and stats.new_events % 5000 == 0:
            progress(5000)
    known |= _flush_new(conn, complete, write)
    stats.events_read = stats.new_events
    # 2. Sessions that existed before: rebuilt from all their events (late events correct
    #    them); the rest of the new ones from what was read.
    known |= _existing(conn, list(new_facts))
    for sid in sorted(known):
        new_facts[sid] = _read_session(conn, sid, top, stats)
    write(new_facts)
    new_facts.clear()
    # 3. Calls still pending may have timed out now that newer data exists.
    pending = _pending_sessions(conn)
    if pending:
        write({sid: _read_session(conn, sid, top, stats) for sid in sorted(pending)})
    with write_transaction(conn):
        stats.tokens_updated = reconcile_session_tokens(conn)
        otel_join.reconcile(conn)
        state.put(conn, "sessions.last_seq", top)
        state.put(conn, "sessions.now_ms", now_ms)
    stats.sessions_rebuilt = len(rebuilt)
    stats.rows_written = rows_written
    stats.last_seq = top
    stats.seconds = round(time.perf_counter() - t0, 3)
    return stats


def _flush_new(conn: sqlite3.Connection, complete: dict[str, list[Fact]],
               write: Callable[[dict[str, list[Fact]]], None]) -> set[str]:
    """Write the complete sessions that are new; return (and drop) the ones that existed."""
    existed = _existing(conn, list(complete))
    write({sid: f for sid, f in complete.items() if sid not in existed})
    complete.clear()
    return existed


def _read_session(conn: sqlite3.Connection, sid: str, top: int,
                  stats: SessionRefreshStats) -> list[Fact]:
    facts: list[Fact] = []
    for ev in iter_events(conn, session_id=sid, until_seq=top):
        facts.extend(extract(ev.seq, ev.envelope))
        stats.events_read += 1
    return facts


def _last_seqs(conn: sqlite3.Connection, since: int, top: int) -> dict[str, int]:
    """Each session's last seq after ``since``, from the storage's per-block session spans
    (cheap: one row per session and block). Sessions with events beyond ``top`` (written
    while we read) are left out, so they wait for the end of the pass. Without the spans
    table every session waits."""
    if not has_table(conn, "session_spans"):
        return {}
    return {sid: last for sid, last in conn.execute(
        "SELECT s.session_id, max(sp.last_seq) FROM session_spans sp "
        "JOIN event_sessions s ON s.session = sp.session WHERE sp.last_seq > ? "
        "GROUP BY sp.session", (since,)) if last <= top}


def _build_owning(conn: sqlite3.Connection, facts: dict[str, list[Fact]], now_ms: int,
                  top: int, stats: SessionRefreshStats) -> list[SessionRows]:
    """Build the sessions; a tool_use_id found in several sessions (a resumed or forked
    history copied under a new session id) belongs to the one that started it first
    (started_at, then session_id) and is left out of the others. An untouched session
    that loses a call this way is rebuilt too, so the result does not depend on which
    session was refreshed first."""
    excluded: dict[str, set[str]] = defaultdict(set)
    built = {sid: build_session(sid, f, now_ms) for sid, f in sorted(facts.items()) if f}
    while True:
        owner: dict[str, tuple[str, str]] = {}
        for sid, rows in built.items():
            for c in rows.tool_calls:
                cand = (c["started_at"] or c["ended_at"] or "", sid)
                owner[c["tool_use_id"]] = min(owner.get(c["tool_use_id"], cand), cand)
        losers: set[str] = set()
        for chunk in state.chunks(list(owner)):
            marks = ",".join("?" * len(chunk))
            for tid, started, ended, sid in conn.execute(
                    "SELECT tool_use_id, started_at, ended_at, session_id FROM tool_calls "
                    f"WHERE tool_use_id IN ({marks})", chunk):
                if sid in built:
                    continue
                cand = (started or ended or "", sid)
                if cand < owner[tid]:
                    owner[tid] = cand
                else:
                    losers.add(sid)
        changed = False
        for sid in sorted(losers):
            facts[sid] = []
            for ev in iter_events(conn, session_id=sid, until_seq=top):
                facts[sid].extend(extract(ev.seq, ev.envelope))
                stats.events_read += 1
            built[sid] = build_session(sid, facts[sid], now_ms)
            changed = True
        for sid, rows in list(built.items()):
            lost = {c["tool_use_id"] for c in rows.tool_calls
                    if owner.get(c["tool_use_id"], ("", sid))[1] != sid}
            if lost - excluded[sid]:
                excluded[sid] |= lost
                built[sid] = build_session(sid, facts[sid], now_ms, excluded[sid])
                changed = True
        if not changed:
            return [built[sid] for sid in sorted(built)]


def _clear(conn: sqlite3.Connection) -> None:
    with write_transaction(conn):
        # The rollups of every day that has rows now must be recomputed afterwards.
        state.mark_days(conn, [d for (d,) in conn.execute(
            "SELECT day FROM metrics_daily UNION SELECT day FROM tool_metrics")])
        for table in SESSION_TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM analytics_state WHERE name LIKE 'sessions.%'")


def _existing(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in state.chunks(ids):
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in conn.execute(
            f"SELECT session_id FROM sessions WHERE session_id IN ({marks})", chunk))
    return found


def _pending_sessions(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT session_id FROM sessions WHERE tool_pending > 0")}


def _replace(conn: sqlite3.Connection, batch: list[SessionRows], counts: dict) -> None:
    ids = [b.session["session_id"] for b in batch]
    old_days: set[str] = set()
    for chunk in state.chunks(ids):
        marks = ",".join("?" * len(chunk))
        for table in ("sessions", "tool_calls", "turns"):
            old_days.update(r[0] for r in conn.execute(
                f"SELECT DISTINCT day FROM {table} WHERE session_id IN ({marks})", chunk))
        for table in SESSION_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE session_id IN ({marks})", chunk)
    new_days: set[str] = set()
    for b in batch:
        new_days.add(b.session["day"])
        new_days.update(r["day"] for r in b.tool_calls)
        new_days.update(r["day"] for r in b.turns)
    state.insert_rows(conn, "sessions", [b.session for b in batch])
    for table, attr in (("tool_calls", "tool_calls"), ("turns", "turns"),
                        ("file_edits", "file_edits")):
        rows = [r for b in batch for r in getattr(b, attr)]
        state.insert_rows(conn, table, rows)
        counts[table] += len(rows)
    counts["sessions"] += len(batch)
    state.mark_days(conn, old_days | new_days)


def reconcile_session_tokens(conn: sqlite3.Connection) -> int:
    """Copy token and cost totals from token_usage into sessions where they differ."""
    sql = token_rows_sql(conn)
    cols = (*TOKEN_COLUMNS, "cost_usd")
    if sql is None:
        cur = conn.execute(
            "UPDATE sessions SET " + ", ".join(f"{c} = 0" for c in cols) +
            " WHERE " + " OR ".join(f"{c} != 0" for c in cols))
        return cur.rowcount
    sums = ", ".join(f"sum({c}) AS {c}" for c in TOKEN_COLUMNS) + \
        ", round(sum(cost_usd), 6) AS cost_usd"
    conn.execute("DROP TABLE IF EXISTS temp.session_tokens")
    conn.execute(f"CREATE TEMP TABLE session_tokens AS SELECT session_id, {sums} "
                 f"FROM ({sql}) GROUP BY session_id")
    differs = " OR ".join(f"s.{c} IS NOT coalesce(t.{c}, 0)" for c in cols)
    assign = ", ".join(
        f"{c} = coalesce((SELECT {c} FROM temp.session_tokens t "
        f"WHERE t.session_id = sessions.session_id), 0)" for c in cols)
    cur = conn.execute(
        f"UPDATE sessions SET {assign} WHERE session_id IN ("
        f"SELECT s.session_id FROM sessions s LEFT JOIN temp.session_tokens t "
        f"ON t.session_id = s.session_id WHERE {differs})")
    changed = cur.rowcount
    conn.execute("DROP TABLE temp.session_tokens")
    return changed
