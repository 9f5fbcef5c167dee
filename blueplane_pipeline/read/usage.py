"""Rows for usage reports: plain SQL over ``token_usage`` (no Dagster, no pandas), or, before
the table is built, the same rows computed in memory from the stored transcript events.

The table path is what ``blueplane usage`` runs every time, so what only the in-memory
path needs (price list, transcript decoding, deduplication) is imported when it runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta, tzinfo

from blueplane_pipeline.read.connect import has_rows
from blueplane_pipeline.read.sql import Where
from blueplane_pipeline.usage.reports import UsageRow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from blueplane_pipeline.core.pricing import PriceTable
    from blueplane_pipeline.usage.records import UsageRecord

QUARTER_MS = 900_000
DAY_MS = 86_400_000


def _where(since_ms: int | None, until_ms: int | None, project: str | None,
           platform: str | None = None) -> Where:
    where = Where()
    if since_ms is not None:
        where.add("ts_ms >= ?", since_ms)
    if until_ms is not None:
        where.add("ts_ms < ?", until_ms)
    if project is not None:
        where.add("project = ?", project)
    if platform is not None:
        where.add("platform = ?", platform)
    return where


# A fast-mode message is reported under ``<model>-fast``, as ccusage names it.
_MODEL = "CASE WHEN speed = 'fast' THEN model || '-fast' ELSE model END"


def report_model(model: str | None, speed: str | None) -> str | None:
    return f"{model}-fast" if model is not None and speed == "fast" else model


_SUMS = ("sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens),"
         " sum(cache_read_tokens), sum(cost_usd), count(*),"
         " max(cost_source = 'unknown_model' AND total_tokens > 0), platform,"
         " sum(reasoning_tokens), sum(total_tokens - input_tokens - output_tokens"
         " - cache_creation_tokens - cache_read_tokens)")


def local_day_key(conn: sqlite3.Connection, tz: tzinfo, since_ms: int | None,
                  until_ms: int | None) -> str:
    """A SQL expression grouping the rows between the bounds by calendar day in ``tz``.

    Where ``tz`` keeps one UTC offset for whole days, ``(ts_ms + offset) / DAY_MS`` is the
    local day; the days its offset changes are grouped by quarter hour instead (every
    offset is a multiple of 15 minutes, so a quarter never straddles local midnight, and
    ``usage.reports`` dates each row by its first instant). Either way no group spans two
    local days, and a year holds ~365 groups per model instead of ~2,000 quarters.
    """
    bounds = _where(since_ms, until_ms, None)
    # Two subqueries: each is one index lookup, where min() and max() together scan it.
    lo, hi = conn.execute(f"SELECT (SELECT min(ts_ms) FROM token_usage{bounds.sql()}),"
                          f" (SELECT max(ts_ms) FROM token_usage{bounds.sql()})",
                          bounds.params * 2).fetchone()
    if lo is None or lo < 2 * DAY_MS:  # (SQLite's / truncates negatives toward zero)
        return f"ts_ms / {QUARTER_MS}"
    spans: list[tuple[int, int | None]] = []  # (end, offset or None: quarters), ascending
    day = datetime.fromtimestamp(lo / 1000, tz).date()
    start, offset = _midnight(day, tz)
    while start <= hi:
        day += timedelta(days=1)
        end, next_offset = _midnight(day, tz)
        kind = offset if offset == next_offset else None
        if spans and kind is not None and spans[-1][1] == kind:
            spans[-1] = (end, kind)
        else:
            spans.append((end, kind))
        start, offset = end, next_offset
    keys = [f"(ts_ms + {kind}) / {DAY_MS}" if kind is not None else f"-1 - ts_ms / {QUARTER_MS}"
            for _, kind in spans]
    if len(keys) == 1:
        return keys[0]
    cases = " ".join(f"WHEN ts_ms < {end} THEN {key}"
                     for (end, _), key in zip(spans[:-1], keys[:-1], strict=True))
    return f"CASE {cases} ELSE {keys[-1]} END"


def _midnight(day: date, tz: tzinfo) -> tuple[int, int]:
    """(epoch ms of ``day``'s first instant in ``tz``, the UTC offset then, in ms)."""
    first = datetime(day.year, day.month, day.day, tzinfo=tz)
    ms = int(first.timestamp() * 1000)
    offset = datetime.fromtimestamp(ms / 1000, tz).utcoffset()
    return ms, int(offset.total_seconds() * 1000) if offset is not None else 0


def query_rows(conn: sqlite3.Connection, grain: str, *, since_ms: int | None = None,
               until_ms: int | None = None, project: str | None = None,
               tz: tzinfo | None = None, platform: str | None = None) -> list[UsageRow]:
    """Rows for a report: ``day`` (summed per calendar day in ``tz`` and model: periods),
    ``quarter`` (summed per quarter hour and model: periods in any zone), ``session``
    (summed per session and model) or ``message`` (one per message: blocks)."""
    found = _where(since_ms, until_ms, project, platform)
    where, params = found.sql(), found.params
    if grain in ("day", "quarter"):
        if grain == "day" and tz is None:
            raise ValueError("grain 'day' needs the timezone")
        key = (local_day_key(conn, tz, since_ms, until_ms) if grain == "day"
               else f"ts_ms / {QUARTER_MS}")
        sql = (f"SELECT min(ts_ms), max(ts_ms), NULL, NULL, {_MODEL} AS m, {_SUMS}"
               f" FROM token_usage{where} GROUP BY {key}, m, platform")
    elif grain == "session":
        sql = (f"SELECT min(ts_ms), max(ts_ms), session_id, project, {_MODEL} AS m, {_SUMS}"
               f" FROM token_usage{where} GROUP BY session_id, project, m, platform")
    elif grain == "message":
        sql = (f"SELECT ts_ms, ts_ms, session_id, project, {_MODEL}, input_tokens, output_tokens,"
               " cache_creation_tokens, cache_read_tokens, cost_usd, 1,"
               " cost_source = 'unknown_model' AND total_tokens > 0, platform,"
               " reasoning_tokens, total_tokens - input_tokens - output_tokens"
               " - cache_creation_tokens - cache_read_tokens"
               f" FROM token_usage{where} ORDER BY ts_ms")
    else:
        raise ValueError(f"unknown grain {grain!r}")
    return [UsageRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                     bool(r[11]), r[12], r[13] or 0, r[14] or 0)
            for r in conn.execute(sql, params)]


def rows_from_events(conn: sqlite3.Connection, prices: PriceTable, *,
                     since_ms: int | None = None, until_ms: int | None = None,
                     project: str | None = None, platform: str | None = None,
                     on_event: Callable[[], None] | None = None) -> list[UsageRow]:
    """The same per-message rows, computed from raw events when the table is not built."""
    from blueplane_pipeline.usage.dedup import dedupe
    from blueplane_pipeline.usage.events import usage_records

    records = usage_records(conn, on_event=on_event, platform=platform)
    return list(_rows(dedupe(records).values(), prices, since_ms, until_ms, project))


def _rows(records: Iterable[UsageRecord], prices: PriceTable, since_ms: int | None,
          until_ms: int | None, project: str | None) -> Iterator[UsageRow]:
    from blueplane_pipeline.usage.cost import message_cost

    for rec in records:
        if since_ms is not None and rec.ts_ms < since_ms:
            continue
        if until_ms is not None and rec.ts_ms >= until_ms:
            continue
        if project is not None and rec.project != project:
            continue
        cost, source = message_cost(rec, prices)
        yield UsageRow(rec.ts_ms, rec.ts_ms, rec.session_id, rec.project,
                       report_model(rec.model, rec.speed),
                       rec.input_tokens, rec.output_tokens, rec.cache_creation_tokens,
                       rec.cache_read_tokens, cost, 1,
                       source == "unknown_model" and rec.total_tokens > 0, rec.platform,
                       rec.reasoning_tokens, rec.thoughts_tokens)


def report_rows(conn: sqlite3.Connection, grain: str, *, since_ms: int | None = None,
                until_ms: int | None = None, project: str | None = None,
                tz: tzinfo | None = None, platform: str | None = None,
                on_event: Callable[[], None] | None = None,
                source: str = "transcript") -> tuple[list[UsageRow], str]:
    """Rows for a report and where they came from: ``table`` (``token_usage``), ``events``
    (computed from raw transcript events: the table is not built yet), ``otel``
    (``api_requests``), ``best`` (OTel where a session has it complete, else transcripts)
    or ``none``. ``source`` is ``transcript`` (the default, ccusage-identical), ``otel`` or
    ``best`` (``read.otel``)."""
    if source != "transcript":
        from blueplane_pipeline.read.otel import complete_otel_sessions_sql, otel_rows

        rows = otel_rows(conn, since_ms=since_ms, until_ms=until_ms, project=project,
                         platform=platform, only_complete=source == "best")
        if source == "otel":
            return rows, "otel" if rows else "none"
        rest, origin = report_rows(conn, "message", since_ms=since_ms, until_ms=until_ms,
                                   project=project, tz=tz, platform=platform,
                                   on_event=on_event)
        if rows:
            covered = {sid for (sid,) in conn.execute(complete_otel_sessions_sql())}
            rest = [r for r in rest if r.session_id not in covered]
        return sorted([*rows, *rest], key=lambda r: r.ts_first_ms), "best"
    if has_rows(conn, "token_usage"):
        return query_rows(conn, grain, since_ms=since_ms, until_ms=until_ms,
                          project=project, tz=tz, platform=platform), "table"
    from blueplane_pipeline.usage.events import count_usage_events

    if not count_usage_events(conn):
        return [], "none"
    from blueplane_pipeline.core.pricing import load_price_table

    rows = rows_from_events(conn, load_price_table(), since_ms=since_ms, until_ms=until_ms,
                            project=project, platform=platform, on_event=on_event)
    return rows, "events"
