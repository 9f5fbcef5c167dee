"""Rows for usage reports: plain SQL over ``token_usage`` (no Dagster, no pandas), or, before
the table is built, the same rows computed in memory from the stored transcript events."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator

from blueplane_pipeline.core.pricing import PriceTable
from blueplane_pipeline.read.connect import has_rows
from blueplane_pipeline.read.sql import Where
from blueplane_pipeline.usage.cost import message_cost
from blueplane_pipeline.usage.dedup import dedupe
from blueplane_pipeline.usage.events import count_transcript_events, transcript_records
from blueplane_pipeline.usage.records import UsageRecord
from blueplane_pipeline.usage.reports import UsageRow

QUARTER_MS = 900_000


def _where(since_ms: int | None, until_ms: int | None, project: str | None) -> Where:
    where = Where()
    if since_ms is not None:
        where.add("ts_ms >= ?", since_ms)
    if until_ms is not None:
        where.add("ts_ms < ?", until_ms)
    if project is not None:
        where.add("project = ?", project)
    return where


_SUMS = ("sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens),"
         " sum(cache_read_tokens), sum(cost_usd), count(*),"
         " max(cost_source = 'unknown_model' AND total_tokens > 0)")


def query_rows(conn: sqlite3.Connection, grain: str, *, since_ms: int | None = None,
               until_ms: int | None = None, project: str | None = None) -> list[UsageRow]:
    """Rows for a report: ``quarter`` (summed per quarter hour and model: periods),
    ``session`` (summed per session and model) or ``message`` (one per message: blocks)."""
    found = _where(since_ms, until_ms, project)
    where, params = found.sql(), found.params
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


def report_rows(conn: sqlite3.Connection, grain: str, *, since_ms: int | None = None,
                until_ms: int | None = None, project: str | None = None,
                on_event: Callable[[], None] | None = None) -> tuple[list[UsageRow], str]:
    """Rows for a report and where they came from: ``table`` (``token_usage``), ``events``
    (computed from raw transcript events: the table is not built yet) or ``none``."""
    if has_rows(conn, "token_usage"):
        return query_rows(conn, grain, since_ms=since_ms, until_ms=until_ms,
                          project=project), "table"
    if not count_transcript_events(conn):
        return [], "none"
    from blueplane_pipeline.core.pricing import load_price_table

    rows = rows_from_events(conn, load_price_table(), since_ms=since_ms, until_ms=until_ms,
                            project=project, on_event=on_event)
    return rows, "events"
