"""Reading the OpenTelemetry tables: usage rows by the assistant's own accounting, the
per-session reconciliation with the transcripts, and whether any OTel data exists.

``token_usage`` (transcripts, deduplicated like ccusage) stays the default for the
ccusage-shaped reports. ``otel`` reads ``api_requests`` instead; ``best`` takes OTel for
the sessions it covers without a lost batch, and the transcripts for the rest.
"""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.read.connect import has_rows
from blueplane_pipeline.storage.db import table_columns
from blueplane_pipeline.usage.reports import UsageRow

SOURCES = ("transcript", "otel", "best")
NO_OTEL = (
    "no OTel data: install the export with `blueplane install claude-code --otel` "
    "and keep `blueplane up` running (docs/collector.md)"
)
_SESSION_PROJECT = "(SELECT t.project FROM token_usage t WHERE t.session_id = a.session_id LIMIT 1)"


def has_otel(conn: sqlite3.Connection) -> bool:
    return bool(table_columns(conn, "api_requests")) and (
        has_rows(conn, "api_requests") or has_rows(conn, "otel_metric_points")
    )


def complete_otel_sessions_sql() -> str:
    """Sessions whose OTel log events have no sequence gap (no lost batch)."""
    return (
        "SELECT session_id FROM otel_log_events WHERE sequence IS NOT NULL"
        " GROUP BY session_id HAVING count(DISTINCT sequence) = max(sequence) + 1"
        " AND min(sequence) = 0 AND session_id IN (SELECT session_id FROM api_requests)"
    )


def otel_rows(
    conn: sqlite3.Connection,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    project: str | None = None,
    only_complete: bool = False,
) -> list[UsageRow]:
    """One row per ``api_request`` (cost as the assistant computed it)."""
    if not table_columns(conn, "api_requests"):
        return []
    project_sql = _SESSION_PROJECT if table_columns(conn, "token_usage") else "NULL"
    where, params = ["a.ts_ms IS NOT NULL"], []
    if since_ms is not None:
        where.append("a.ts_ms >= ?")
        params.append(since_ms)
    if until_ms is not None:
        where.append("a.ts_ms < ?")
        params.append(until_ms)
    if project is not None:
        where.append(f"{project_sql} = ?")
        params.append(project)
    if only_complete:
        where.append(f"a.session_id IN ({complete_otel_sessions_sql()})")
    sql = (
        f"SELECT a.ts_ms, a.session_id, {project_sql}, a.model, a.input_tokens,"
        " a.output_tokens, a.cache_creation_tokens, a.cache_read_tokens,"
        " coalesce(a.cost_usd, 0), a.cost_usd IS NULL FROM api_requests a"
        f" WHERE {' AND '.join(where)} ORDER BY a.ts_ms"
    )
    return [
        UsageRow(ts, ts, sid, proj or "", model or "", inp, out, cw, cr, cost, 1, bool(unpriced))
        for ts, sid, proj, model, inp, out, cw, cr, cost, unpriced in conn.execute(sql, params)
    ]


def reconcile_rows(
    conn: sqlite3.Connection, *, since_ms: int | None = None, until_ms: int | None = None
) -> list[dict]:
    """Per session seen by either source: transcript vs OTel tokens and cost, and the OTel
    events lost (sequence gaps). Differences are OTel minus transcript."""
    from blueplane_pipeline.sources.otel.gaps import sequence_gaps

    cols = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    out: dict[str, dict] = {}

    def window(ts: str) -> tuple[str, list]:
        parts, params = [], []
        if since_ms is not None:
            parts.append(f"{ts} >= ?")
            params.append(since_ms)
        if until_ms is not None:
            parts.append(f"{ts} < ?")
            params.append(until_ms)
        return (" WHERE " + " AND ".join(parts)) if parts else "", params

    sums = ", ".join(f"sum({c})" for c in cols)
    if table_columns(conn, "token_usage"):
        where, params = window("ts_ms")
        for sid, project, n, *vals in conn.execute(
            f"SELECT session_id, max(project), count(*), {sums}, sum(cost_usd)"
            f" FROM token_usage{where} GROUP BY session_id",
            params,
        ):
            out[sid] = {
                "session_id": sid,
                "project": project,
                "transcript_messages": n,
                **{f"transcript_{c}": v for c, v in zip((*cols, "cost_usd"), vals, strict=True)},
            }
    if table_columns(conn, "api_requests"):
        where, params = window("ts_ms")
        for sid, n, *vals in conn.execute(
            f"SELECT session_id, count(*), {sums}, sum(cost_usd) FROM api_requests{where}"
            " GROUP BY session_id",
            params,
        ):
            row = out.setdefault(sid, {"session_id": sid, "project": None})
            row["otel_requests"] = n
            row.update({f"otel_{c}": v for c, v in zip((*cols, "cost_usd"), vals, strict=True)})
        lost: dict[str, int] = {}
        for gap in sequence_gaps(conn):
            lost[gap.session_id] = lost.get(gap.session_id, 0) + gap.missing
    else:
        lost = {}
    rows = []
    for sid, row in out.items():
        row.setdefault("transcript_messages", None)
        row.setdefault("otel_requests", None)
        for c in (*cols, "cost_usd"):
            t, o = row.setdefault(f"transcript_{c}", None), row.setdefault(f"otel_{c}", None)
            diff = (o - t) if t is not None and o is not None else None
            row[f"diff_{c}"] = round(diff, 6) if c == "cost_usd" and diff is not None else diff
        row["otel_events_lost"] = lost.get(sid, 0) if row["otel_requests"] else None
        row["sources"] = "+".join(
            s
            for s, k in (("transcript", "transcript_messages"), ("otel", "otel_requests"))
            if row[k]
        )
        rows.append(row)
    rows.sort(key=lambda r: (-(abs(r["diff_cost_usd"] or 0)), r["session_id"] or ""))
    return rows
