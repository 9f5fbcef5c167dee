"""The ``token_usage`` table: one row per deduplicated assistant API message.

``refresh`` folds the transcript events that arrived since the last run (by ``raw_events``
seq watermark) into the table: new messages are inserted, a better copy of a known
message replaces it (the rule in ``dedup``), and when the price list changed every
computed cost is re-priced. Reports read it through ``usage.query``.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from blueplane_pipeline.core.pricing import PriceTable
from blueplane_pipeline.core.times import iso_ms
from blueplane_pipeline.storage.db import write_transaction
from blueplane_pipeline.storage.reader import max_seq
from blueplane_pipeline.usage.cost import message_cost, priced_model
from blueplane_pipeline.usage.dedup import dedupe, is_better
from blueplane_pipeline.usage.events import usage_records
from blueplane_pipeline.usage.records import UsageRecord

_COLUMNS = (
    "dedup_key", "message_id", "request_id", "session_id", "line_session_id", "project",
    "model", "price_model", "ts", "ts_ms", "input_tokens", "output_tokens",
    "cache_creation_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
    "cache_read_tokens", "total_tokens", "cost_usd", "cost_source", "log_cost_usd",
    "is_sidechain", "source_file", "source_line", "raw_seq", "platform", "speed",
    "reasoning_tokens",
)
# Tokens billed at the output price but not in output_tokens (Gemini's thinking tokens):
# the part of total_tokens the four counts do not hold.
THOUGHTS_SQL = ("(total_tokens - input_tokens - output_tokens - cache_creation_tokens"
                " - cache_read_tokens)")
_UPSERT = (
    f"INSERT INTO token_usage ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (dedup_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "dedup_key")
)


@dataclass
class RefreshStats:
    events_read: int = 0
    records: int = 0
    rows_changed: int = 0
    rows_repriced: int = 0
    watermark_from: int = 0
    watermark_to: int = 0
    seconds: float = 0.0


def _row_values(rec: UsageRecord, prices: PriceTable) -> tuple:
    cost, source = message_cost(rec, prices)
    found = prices.lookup(priced_model(rec)) if source == "computed" else None
    return (rec.dedup_key, rec.message_id, rec.request_id, rec.session_id, rec.line_session_id,
            rec.project, rec.model, found[0] if found else None, iso_ms(rec.ts_ms), rec.ts_ms,
            rec.input_tokens, rec.output_tokens, rec.cache_creation_tokens,
            rec.cache_creation_5m, rec.cache_creation_1h, rec.cache_read_tokens,
            rec.total_tokens, cost, source, rec.cost_usd_log, int(rec.is_sidechain),
            rec.source_file, rec.source_line, rec.seq, rec.platform, rec.speed,
            rec.reasoning_tokens)


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
               f" source_file, source_line, {THOUGHTS_SQL} FROM token_usage"
               f" WHERE dedup_key IN ({','.join('?' * len(chunk))})")
        for key, side, inp, out_t, cw5, cw1, cr, file, line, th in conn.execute(sql, chunk):
            out[key] = _stub(None, inp, out_t, cw5, cw1, cr, bool(side), file, line)
            out[key].thoughts_tokens = th
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
        f" cache_creation_1h_tokens, cache_read_tokens, speed, ts_ms, {THOUGHTS_SQL},"
        " platform FROM token_usage WHERE cost_source != 'log'").fetchall()
    updates = []
    for row_id, model, inp, out, cw5, cw1, cr, speed, ts_ms, thoughts, platform in rows:
        stub = _stub(model, inp, out, cw5, cw1, cr)
        stub.speed, stub.ts_ms, stub.thoughts_tokens = speed, ts_ms, thoughts
        stub.platform = platform
        cost, source = message_cost(stub, prices)
        found = prices.lookup(priced_model(stub)) if source == "computed" else None
        updates.append((cost, source, found[0] if found else None, row_id))
    conn.executemany("UPDATE token_usage SET cost_usd = ?, cost_source = ?, price_model = ?"
                     " WHERE id = ?", updates)
    return len(updates)


# Events read per write transaction: bounds memory on a first build over years of history
# and lets ingest write between windows.
WINDOW_EVENTS = 200_000


def refresh(conn: sqlite3.Connection, prices: PriceTable,
            window: int = WINDOW_EVENTS) -> RefreshStats:
    """Bring ``token_usage`` up to date with ``raw_events``.

    Works through the new events in seq windows, one transaction each (rows and watermark
    together, so a crash resumes where it stopped); re-prices first if the list changed.
    """
    started = time.perf_counter()
    stats = RefreshStats()
    watermark = int(get_state(conn, "raw_seq", "0"))
    top = max_seq(conn)
    stats.watermark_from, stats.watermark_to = watermark, top
    if get_state(conn, "price_fingerprint") != prices.fingerprint():
        with write_transaction(conn):
            stats.rows_repriced = _reprice(conn, prices)
            _set_state(conn, "price_fingerprint", prices.fingerprint())
    read = [0]

    def counted() -> None:
        read[0] += 1

    lo = watermark
    while lo < top:
        hi = min(lo + window, top)
        records = list(usage_records(conn, lo, hi, on_event=counted))
        stats.records += len(records)
        winners = dedupe(records)
        with write_transaction(conn):
            stored = _stored_rivals(conn, list(winners))
            fresh = [rec for key, rec in winners.items()
                     if key not in stored or is_better(rec, stored[key])]
            conn.executemany(_UPSERT, [_row_values(rec, prices) for rec in fresh])
            _set_state(conn, "raw_seq", hi)
        stats.rows_changed += len(fresh)
        lo = hi
    stats.events_read = read[0]
    stats.seconds = time.perf_counter() - started
    return stats
