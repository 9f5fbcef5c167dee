"""What only OpenTelemetry knows, joined onto the session tables.

The OTel tables (``sources/otel``) are written by their own asset; here their totals are
copied into ``sessions`` (per session_id), ``tool_calls`` (per tool_use_id: the decision
and who made it) and ``metrics_daily`` (per day, platform, project, model), the way token
totals are copied from ``token_usage``. A row with no OTel data keeps NULL there, so
readers can say "no OTel data" instead of showing 0. Runs after every session refresh
(rebuilt rows lose the columns) and corrects only rows that differ.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict

from blueplane_pipeline.analytics.metrics import STORED_DIGITS, user_acceptance_rate
from blueplane_pipeline.storage.db import table_columns
from blueplane_pipeline.storage.schema_otel import OTEL_DAILY_COLUMNS

DAILY_COLUMNS = OTEL_DAILY_COLUMNS
# A session also keeps the tokens by the assistant's own accounting.
SESSION_COLUMNS = (
    DAILY_COLUMNS[0],
    "otel_input_tokens",
    "otel_output_tokens",
    "otel_cache_read_tokens",
    "otel_cache_creation_tokens",
    *DAILY_COLUMNS[1:],
)


def has_otel_tables(conn: sqlite3.Connection) -> bool:
    return bool(table_columns(conn, "api_requests"))


def user_rate(accepts: int | None, decisions: int | None) -> float | None:
    return user_acceptance_rate(accepts, decisions, STORED_DIGITS)


def session_otel(conn: sqlite3.Connection) -> dict[str, tuple]:
    """``{session_id: values of SESSION_COLUMNS}`` for every session with OTel data."""
    out: dict[str, dict] = defaultdict(dict)
    for sid, n, inp, outp, cr, cw, cost in conn.execute(
        "SELECT session_id, count(*), sum(input_tokens), sum(output_tokens),"
        " sum(cache_read_tokens), sum(cache_creation_tokens), round(sum(cost_usd), 6)"
        " FROM api_requests GROUP BY session_id"
    ):
        out[sid].update(
            otel_api_requests=n,
            otel_input_tokens=inp,
            otel_output_tokens=outp,
            otel_cache_read_tokens=cr,
            otel_cache_creation_tokens=cw,
            otel_cost_usd=cost,
        )
    for sid, added, removed, user_s, cli_s in conn.execute(
        "SELECT session_id, sum(lines_added), sum(lines_removed),"
        " round(sum(active_time_user_s), 3), round(sum(active_time_cli_s), 3)"
        " FROM otel_session_daily GROUP BY session_id"
    ):
        out[sid].update(
            otel_lines_added=added,
            otel_lines_removed=removed,
            otel_active_user_s=user_s,
            otel_active_cli_s=cli_s,
        )
    for sid, decided, accepts in conn.execute(
        "SELECT session_id, sum(user_decided),"
        " sum(user_decided AND decision = 'accept') FROM tool_decisions GROUP BY session_id"
    ):
        out[sid].update(
            user_decisions=decided,
            user_accepts=accepts,
            user_acceptance_rate=user_rate(accepts, decided),
        )
    return {sid: tuple(v.get(c) for c in SESSION_COLUMNS) for sid, v in out.items()}


def reconcile(conn: sqlite3.Connection) -> int:
    """Copy the OTel totals into ``sessions`` and decisions into ``tool_calls`` where they
    differ (inside the caller's transaction); returns the rows changed."""
    if not has_otel_tables(conn):
        return 0
    wanted = session_otel(conn)
    stored = {
        r[0]: tuple(r[1:])
        for r in conn.execute(f"SELECT session_id, {', '.join(SESSION_COLUMNS)} FROM sessions")
    }
    empty = (None,) * len(SESSION_COLUMNS)
    updates = [
        (*wanted.get(sid, empty), sid)
        for sid, have in stored.items()
        if wanted.get(sid, empty) != have
    ]
    conn.executemany(
        f"UPDATE sessions SET {', '.join(f'{c} = ?' for c in SESSION_COLUMNS)}"
        " WHERE session_id = ?",
        updates,
    )
    # The last decision per tool call (a call asked twice keeps the final answer).
    cur = conn.execute(
        "UPDATE tool_calls SET (decision, decision_source, user_decided) = ("
        " SELECT d.decision, d.source, d.user_decided FROM tool_decisions d"
        " WHERE d.tool_use_id = tool_calls.tool_use_id ORDER BY d.ts_ms DESC LIMIT 1)"
        " WHERE tool_use_id IN (SELECT tool_use_id FROM tool_decisions"
        "  WHERE tool_use_id IS NOT NULL) OR decision IS NOT NULL"
    )
    return len(updates) + cur.rowcount


def daily_otel(conn: sqlite3.Connection, days: list[str]) -> dict[tuple, dict]:
    """``{(day, platform, project_path, model): {DAILY_COLUMNS...}}`` for ``days``: API
    requests by their own model, the metric totals and user decisions by the session's
    primary model (the session's platform and project; '' when no session row exists)."""
    if not has_otel_tables(conn) or not days:
        return {}
    marks = ",".join("?" * len(days))
    out: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(DAILY_COLUMNS))

    def add(key: tuple, col: str, value: float | None) -> None:
        row = out[key]
        row[col] = (row[col] or 0) + (value or 0)

    session = (
        "coalesce(s.platform, o.platform), coalesce(s.project_path, ''),"
        " coalesce(s.primary_model, '')"
    )
    for day, plat, proj, model, n, cost in conn.execute(
        f"SELECT substr(o.ts, 1, 10) AS d, coalesce(s.platform, o.platform),"
        f" coalesce(s.project_path, ''), coalesce(o.model, ''), count(*), sum(o.cost_usd)"
        f" FROM api_requests o LEFT JOIN sessions s ON s.session_id = o.session_id"
        f" WHERE substr(o.ts, 1, 10) IN ({marks}) GROUP BY 1, 2, 3, 4",
        days,
    ):
        add((day, plat, proj, model), "otel_api_requests", n)
        add((day, plat, proj, model), "otel_cost_usd", cost)
    for day, plat, proj, model, *vals in conn.execute(
        f"SELECT o.day, {session}, sum(o.lines_added), sum(o.lines_removed),"
        f" sum(o.active_time_user_s), sum(o.active_time_cli_s) FROM otel_session_daily o"
        f" LEFT JOIN sessions s ON s.session_id = o.session_id"
        f" WHERE o.day IN ({marks}) GROUP BY 1, 2, 3, 4",
        days,
    ):
        for col, v in zip(
            ("otel_lines_added", "otel_lines_removed", "otel_active_user_s", "otel_active_cli_s"),
            vals,
            strict=True,
        ):
            add((day, plat, proj, model), col, v)
    for day, plat, proj, model, decided, accepts in conn.execute(
        f"SELECT substr(o.ts, 1, 10), {session}, sum(o.user_decided),"
        f" sum(o.user_decided AND o.decision = 'accept') FROM tool_decisions o"
        f" LEFT JOIN sessions s ON s.session_id = o.session_id"
        f" WHERE substr(o.ts, 1, 10) IN ({marks}) GROUP BY 1, 2, 3, 4",
        days,
    ):
        add((day, plat, proj, model), "user_decisions", decided)
        add((day, plat, proj, model), "user_accepts", accepts)
    for row in out.values():
        row["user_acceptance_rate"] = user_rate(row["user_accepts"], row["user_decisions"])
        for col in ("otel_cost_usd", "otel_active_user_s", "otel_active_cli_s"):
            if row[col] is not None:
                row[col] = round(row[col], 6)
    return dict(out)


def otel_days(conn: sqlite3.Connection, session_ids: set[str]) -> set[str]:
    """The days a session's OTel rows fall on (to queue them for the rollups)."""
    days: set[str] = set()
    for sid in session_ids:
        for sql in (
            "SELECT DISTINCT day FROM otel_session_daily WHERE session_id = ?",
            "SELECT DISTINCT substr(ts, 1, 10) FROM api_requests WHERE session_id = ?",
            "SELECT DISTINCT substr(ts, 1, 10) FROM tool_decisions WHERE session_id = ?",
        ):
            days.update(d for (d,) in conn.execute(sql, (sid,)) if d)
    return days
