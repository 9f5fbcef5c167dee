"""The ``token_usage`` table: one row per deduplicated assistant API message.

``refresh`` folds the transcript events that arrived since the last run (by ``raw_events``
seq watermark) into the table: new messages are inserted, a better copy of a known
message replaces it (the rule in ``dedup``), and when the price list changed every
computed cost is re-priced. Readers (the CLI) query it with plain SQL; ``rows_from_events``
computes the same rows in memory when the table has not been built yet.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from blueplane_pipeline.pricing import PriceTable
from blueplane_pipeline.storage.reader import iter_events, max_seq
from blueplane_pipeline.usage.cost import message_cost
from blueplane_pipeline.usage.dedup import dedupe, is_better
from blueplane_pipeline.usage.records import UsageRecord, record_from_line
from blueplane_pipeline.usage.reports import UsageRow, iso_ms

_COLUMNS = (
    "dedup_key", "message_id", "request_id", "session_id", "line_session_id", "project",
    "model", "price_model", "ts", "ts_ms", "input_tokens", "output_tokens",
    "cache_creation_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
    "cache_read_tokens", "total_tokens", "cost_usd", "cost_source", "log_cost_usd",
    "is_sidechain", "source_file", "source_line", "raw_seq",
)
_UPSERT = (
    f"INSERT INTO token_usage ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (dedup_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "dedup_key")
)
TRANSCRIPT_EVENT_TYPES = ("assistant", "progress")
QUARTER_MS = 900_000


@dataclass
class RefreshStats:
    events_read: int = 0
    records: int = 0
    rows_changed: int = 0
    rows_repriced: int = 0
    watermark_from: int = 0
    watermark_to: int = 0
    seconds: float = 0.0


# --- reading transcript events ---------------------------------------------------------------

def record_from_event(seq: int, envelope: dict) -> UsageRecord | None:
    """The usage record of a stored transcript event (importer contract: the payload is the
    parsed JSONL line plus ``_file``, relative to ``projects/``, and ``_line``)."""
    if envelope.get("source") != "transcript":
        return None
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        return None
    file = payload.get("_file")
    if not isinstance(file, str) or not file:
        file = f"unknown/{envelope.get('session_id') or 'unknown'}.jsonl"
    line_no = payload.get("_line") if isinstance(payload.get("_line"), int) else 0
    return record_from_line(payload, file, line_no, seq)


def transcript_records(conn: sqlite3.Connection, since_seq: int = 0,
                       until_seq: int | None = None,
                       on_event: Callable[[], None] | None = None) -> Iterator[UsageRecord]:
    """Usage records of the stored transcript events in ``(since_seq, until_seq]``;
    ``on_event`` is called for every event read (counting, progress bars)."""
    for ev in iter_events(conn, since_seq=since_seq, until_seq=until_seq, platform="claude_code",
                          event_types=TRANSCRIPT_EVENT_TYPES):
        if on_event is not None:
            on_event()
        rec = record_from_event(ev.seq, ev.envelope)
        if rec is not None:
            yield rec


def count_transcript_events(conn: sqlite3.Connection) -> int:
    """How many events ``transcript_records`` would read from the start."""
    marks = ",".join("?" * len(TRANSCRIPT_EVENT_TYPES))
    try:
        return conn.execute(
            "SELECT count(*) FROM raw_events r JOIN event_kinds k ON k.kind = r.kind"
            " WHERE k.platform = 'claude_code' AND k.source = 'transcript'"
            f" AND k.event_type IN ({marks})", TRANSCRIPT_EVENT_TYPES).fetchone()[0]
    except sqlite3.OperationalError:  # no raw_events table yet
        return 0


def _row_values(rec: UsageRecord, prices: PriceTable) -> tuple:
    cost, source = message_cost(rec, prices)
    found = prices.lookup(rec.model) if source == "computed" else None
    return (rec.dedup_key, rec.message_id, rec.request_id, rec.session_id, rec.line_session_id,
            rec.project, rec.model, found[0] if found else None, iso_ms(rec.ts_ms), rec.ts_ms,
            rec.input_tokens, rec.output_tokens, rec.cache_creation_tokens,
            rec.cache_creation_5m, rec.cache_creation_1h, rec.cache_read_tokens,
            rec.total_tokens, cost, source, rec.cost_usd_log, int(rec.is_sidechain),
            rec.source_file, rec.source_line, rec.seq)


# --- state -----------------------------------------------------------------------------------

def get_state(conn: sqlite3.Connection, name: str, default: str = "") -> str:
    row = conn.execute("SELECT value FROM token_usage_state WHERE name = ?", (name,)).fetchone()
    return row[0] if row else default


def _set_state(conn: sqlite3.Connection, name: str, value: object) -> None:
    conn.execute("INSERT INTO token_usage_state (name, value) VALUES (?, ?) ON CONFLICT (name)"
                 " DO UPDATE SET value = excluded.value", (name, str(value)))


def _stored_rivals(conn: sqlite3.Connection, keys: list[str]) -> dict[str, UsageRecord]:
    """Stored rows for ``keys``, as much of a record as the dedup rule compares."""
    out: dict[str, UsageRecord] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        sql = ("SELECT dedup_key, is_sidechain, input_tokens, output_tokens,"
               " cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,"
               " source_file, source_line FROM token_usage"
               f" WHERE dedup_key IN ({','.join('?' * len(chunk))})")
        for key, side, inp, out_t, cw5, cw1, cr, file, line in conn.execute(sql, chunk):
            out[key] = _stub(None, inp, out_t, cw5, cw1, cr, bool(side), file, line)
    return out


def _stub(model: str | None, inp: int, out: int, cw5: int, cw1: int, cr: int,
          sidechain: bool = False, file: str = "", line: int = 0) -> UsageRecord:
    """A record rebuilt from a stored row: the fields pricing and the dedup rule read."""
    return UsageRecord(message_id=None, request_id=None, session_id="", line_session_id=None,
                       project="", model=model, ts_ms=0, input_tokens=inp, output_tokens=out,
                       cache_creation_5m=cw5, cache_creation_1h=cw1, cache_read_tokens=cr,
                       cost_usd_log=None, is_sidechain=sidechain, source_file=file,
                       source_line=line)


def _reprice(conn: sqlite3.Connection, prices: PriceTable) -> int:
    rows = conn.execute(
        "SELECT id, model, input_tokens, output_tokens, cache_creation_5m_tokens,"
        " cache_creation_1h_tokens, cache_read_tokens FROM token_usage"
        " WHERE cost_source != 'log'").fetchall()
    updates = []
    for row_id, model, inp, out, cw5, cw1, cr in rows:
        cost, source = message_cost(_stub(model, inp, out, cw5, cw1, cr), prices)
        found = prices.lookup(model) if source == "computed" else None
        updates.append((cost, source, found[0] if found else None, row_id))
    conn.executemany("UPDATE token_usage SET cost_usd = ?, cost_source = ?, price_model = ?"
                     " WHERE id = ?", updates)
    return len(updates)


def refresh(conn: sqlite3.Connection, prices: PriceTable) -> RefreshStats:
    """Bring ``token_usage`` up to date with ``raw_events`` (one write transaction)."""
    started = time.perf_counter()
    stats = RefreshStats()
    watermark = int(get_state(conn, "raw_seq", "0"))
    top = max_seq(conn)
    stats.watermark_from, stats.watermark_to = watermark, top
    read = [0]

    def counted() -> None:
        read[0] += 1

    records = list(transcript_records(conn, watermark, top, on_event=counted))
    stats.events_read, stats.records = read[0], len(records)
    winners = dedupe(records)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if get_state(conn, "price_fingerprint") != prices.fingerprint():
            stats.rows_repriced = _reprice(conn, prices)
            _set_state(conn, "price_fingerprint", prices.fingerprint())
        stored = _stored_rivals(conn, list(winners))
        fresh = [rec for key, rec in winners.items()
                 if key not in stored or is_better(rec, stored[key])]
        conn.executemany(_UPSERT, [_row_values(rec, prices) for rec in fresh])
        _set_state(conn, "raw_seq", top)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    stats.rows_changed = len(fresh)
    stats.seconds = time.perf_counter() - started
    return stats


# --- queries for reports ---------------------------------------------------------------------

def _where(since_ms: int | None, until_ms: int | None, project: str | None) -> tuple[str, list]:
    clauses, params = [], []
    if since_ms is not None:
        clauses.append("ts_ms >= ?")
        params.append(since_ms)
    if until_ms is not None:
        clauses.append("ts_ms < ?")
        params.append(until_ms)
    if project is not None:
        clauses.append("project = ?")
        params.append(project)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_SUMS = ("sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens),"
         " sum(cache_read_tokens), sum(cost_usd), count(*),"
         " max(cost_source = 'unknown_model' AND total_tokens > 0)")


def query_rows(conn: sqlite3.Connection, grain: str, *, since_ms: int | None = None,
               until_ms: int | None = None, project: str | None = None) -> list[UsageRow]:
    """Rows for a report: ``quarter`` (summed per quarter hour and model: periods),
    ``session`` (summed per session and model) or ``message`` (one per message: blocks)."""
    where, params = _where(since_ms, until_ms, project)
    if grain == "quarter":
        sql = (f"SELECT min(ts_ms), max(ts_ms), NULL, NULL, model, {_SUMS} FROM token_usage"
               f"{where} GROUP BY ts_ms / {QUARTER_MS}, model")
    elif grain == "session":
        sql = (f"SELECT min(ts_ms), max(ts_ms), session_id, project, model, {_SUMS}"
               f" FROM token_usage{where} GROUP BY session_id, project, model")
    elif grain == "message":
        sql = ("SELECT ts_ms, ts_ms, session_id, project, model, input_tokens, output_tokens,"
               " cache_creation_tokens, cache_read_tokens, cost_usd, 1,"
               " cost_source = 'unknown_model' AND total_tokens > 0"
               f" FROM token_usage{where} ORDER BY ts_ms")
    else:
        raise ValueError(f"unknown grain {grain!r}")
    return [UsageRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                     bool(r[11])) for r in conn.execute(sql, params)]


def rows_from_events(conn: sqlite3.Connection, prices: PriceTable, *,
                     since_ms: int | None = None, until_ms: int | None = None,
                     project: str | None = None,
                     on_event: Callable[[], None] | None = None) -> list[UsageRow]:
    """The same per-message rows, computed from raw events when the table is not built."""
    records = transcript_records(conn, on_event=on_event)
    return list(_rows(dedupe(records).values(), prices, since_ms, until_ms, project))


def _rows(records: Iterable[UsageRecord], prices: PriceTable, since_ms: int | None,
          until_ms: int | None, project: str | None) -> Iterator[UsageRow]:
    for rec in records:
        if since_ms is not None and rec.ts_ms < since_ms:
            continue
        if until_ms is not None and rec.ts_ms >= until_ms:
            continue
        if project is not None and rec.project != project:
            continue
        cost, source = message_cost(rec, prices)
        yield UsageRow(rec.ts_ms, rec.ts_ms, rec.session_id, rec.project, rec.model,
                       rec.input_tokens, rec.output_tokens, rec.cache_creation_tokens,
                       rec.cache_read_tokens, cost, 1,
                       source == "unknown_model" and rec.total_tokens > 0)


def has_rows(conn: sqlite3.Connection) -> bool:
    try:
        return conn.execute("SELECT 1 FROM token_usage LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # table not migrated yet (older database)
        return False


def report_rows(conn: sqlite3.Connection, grain: str, *, since_ms: int | None = None,
                until_ms: int | None = None, project: str | None = None,
                on_event: Callable[[], None] | None = None) -> tuple[list[UsageRow], str]:
    """Rows for a report and where they came from: ``table`` (``token_usage``), ``events``
    (computed from raw transcript events: the table is not built yet) or ``none``."""
    if has_rows(conn):
        return query_rows(conn, grain, since_ms=since_ms, until_ms=until_ms,
                          project=project), "table"
    if not count_transcript_events(conn):
        return [], "none"
    from blueplane_pipeline.pricing import load_price_table

    rows = rows_from_events(conn, load_price_table(), since_ms=since_ms, until_ms=until_ms,
                            project=project, on_event=on_event)
    return rows, "events"
