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
from blueplane_pipeline.storage.schema_otel import OTEL_DAILY_COLUMNS
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
    platform: str | None = None,
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
    if platform is not None:
        where.append("a.platform = ?")
        params.append(platform)
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


# What the readers show from OTel, per window or session (None everywhere = no OTel data).
OTEL_FIELDS = OTEL_DAILY_COLUMNS


def otel_of_session(session: dict) -> dict:
    """The OTel part of a ``sessions`` row, plus ``note`` when it has none."""
    out = {k: session.get(k) for k in OTEL_FIELDS}
    out["note"] = None if any(v is not None for v in out.values()) else NO_OTEL
    return out


def otel_summary(conn: sqlite3.Connection, window, filters) -> dict:
    """The OTel totals of the sessions that started in ``window`` (``read.filters``), and a
    ``note`` saying "no OTel data" when none of them has any (never a silent 0)."""
    from blueplane_pipeline.analytics.metrics import STORED_DIGITS, user_acceptance_rate
    from blueplane_pipeline.read.filters import scoped

    empty = dict.fromkeys(OTEL_FIELDS)
    if "otel_api_requests" not in table_columns(conn, "sessions"):
        return {**empty, "sessions_with_otel": 0, "note": NO_OTEL}
    where = scoped(conn, window, filters, ts_expr="started_at")
    sums = ", ".join(f"sum({c})" for c in OTEL_FIELDS[:-1])
    row = conn.execute(
        f"SELECT sum(otel_api_requests IS NOT NULL OR otel_lines_added IS NOT NULL"
        f" OR user_decisions IS NOT NULL), {sums} FROM sessions{where.sql()}",
        where.params,
    ).fetchone()
    with_otel = row[0] or 0
    if not with_otel:
        return {**empty, "sessions_with_otel": 0, "note": NO_OTEL}
    out = dict(zip(OTEL_FIELDS[:-1], row[1:], strict=True))
    out["user_acceptance_rate"] = user_acceptance_rate(
        out["user_accepts"], out["user_decisions"], STORED_DIGITS
    )
    for key in ("otel_cost_usd", "otel_active_user_s", "otel_active_cli_s"):
        if out[key] is not None:
            out[key] = round(out[key], 6)
    note = None
    if not out["user_decisions"]:
        note = (
            "no tool decision was made by a person in this window (all by configuration "
            "or hooks): user-decided acceptance has nothing to count"
        )
    return {**out, "sessions_with_otel": with_otel, "note": note}


def otel_lines(otel: dict) -> list[str]:
    """Human lines (under 80 columns) for a report: lines of code, active time,
    user-decided acceptance, or that there is no OTel data."""
    if otel.get("sessions_with_otel") == 0 or (otel.get("note") == NO_OTEL):
        return [
            "OpenTelemetry: no OTel data",
            "  (set it up: blueplane install claude-code --otel; docs/collector.md)",
        ]

    def mins(s: float | None) -> str:
        return "-" if s is None else f"{s / 60:.1f} min"

    rate = otel.get("user_acceptance_rate")
    decided = otel.get("user_decisions")
    lines = [
        "OpenTelemetry:",
        f"  lines of code +{otel.get('otel_lines_added') or 0}"
        f" / -{otel.get('otel_lines_removed') or 0}",
        f"  active time: you {mins(otel.get('otel_active_user_s'))},"
        f" the CLI {mins(otel.get('otel_active_cli_s'))}",
        "  user-decided acceptance: "
        + (
            f"{rate:.0%} of {decided} decisions"
            if rate is not None
            else "none (no decision was made by a person)"
        ),
    ]
    if otel.get("otel_api_requests") is not None:
        lines.append(
            f"  API requests (the assistant's own count): "
            f"{otel['otel_api_requests']}, ${otel.get('otel_cost_usd') or 0:.4f}"
        )
    return lines
