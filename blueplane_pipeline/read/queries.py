"""The one read API over the analytics tables (plain SQL, standard library only).

The CLI reports, the MCP server and anything else that reads the derived tables call these
functions, so a number means the same thing everywhere. Nothing here writes: callers pass a
read-only connection from :func:`open_reader`.

Windows. ``1h``/``24h`` (any ``<N>h``) are rolling windows ending now, answered from the
row-level tables (sessions, turns, tool_calls, token_usage). ``<N>d`` is the last N UTC
calendar days including today, answered from the ``metrics_daily`` rollup — the fast path
behind ``blueplane metrics``. ``all`` is every day in the rollup. Percentiles are always
exact over the window's ``tool_calls.latency_ms`` (linear interpolation between ranks),
never averages of per-day percentiles.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from blueplane_pipeline.analytics.metrics import (
    acceptance_rate,
    daily_rates,
    error_rate,
    interruption_rate,
    p50_p95_p99,
    rejection_rate,
    user_modified_share,
)
from blueplane_pipeline.core.times import iso_dt, parse_iso_ms
from blueplane_pipeline.storage.db import connect

ANALYTICS_TABLES = ("sessions", "tool_calls", "turns", "file_edits", "metrics_daily",
                    "tool_metrics", "insights")
EXPORT_TABLES = ANALYTICS_TABLES + ("token_usage",)
GROUP_BYS = ("day", "model", "tool", "project", "platform")

# Summed counters, in the vocabulary of metrics_daily (docs/metrics.md).
COUNTERS = (
    "sessions", "prompts", "active_s", "tool_calls", "tool_success", "tool_errors",
    "tool_rejected", "tool_interrupted", "tool_pending", "edits_accepted", "edits_rejected",
    "edits_user_modified", "lines_added", "lines_removed", "input_tokens", "output_tokens",
    "cache_creation_tokens", "cache_read_tokens", "total_tokens", "cost_usd",
)
RATES = ("error_rate", "interruption_rate", "acceptance_rate", "user_modified_share")
LATENCIES = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
METRICS = COUNTERS + RATES + LATENCIES
# For trend arrows: +1 when more is better, -1 when less is better, 0 when neither.
DIRECTION = {
    "error_rate": -1, "interruption_rate": -1, "tool_errors": -1, "tool_interrupted": -1,
    "tool_rejected": -1, "edits_rejected": -1, "latency_p50_ms": -1, "latency_p95_ms": -1,
    "latency_p99_ms": -1, "acceptance_rate": 1, "edits_accepted": 1, "cost_usd": 0,
}


class NoData(Exception):
    """Nothing to report yet (no database, no analytics tables, an older schema).

    The message is one line telling the user what to do.
    """


# ---------------------------------------------------------------------------- connection


def open_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection to ``telemetry.db``; ``NoData`` when there is none."""
    path = Path(path)
    if not path.exists():
        raise NoData(f"no database at {path} yet: capture or import some sessions, then run "
                     "`blueplane ingest`")
    conn = connect(path, readonly=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NoData(f"{path} is not a readable Blueplane database ({exc})") from None
    return conn


def existing_tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def require(conn: sqlite3.Connection, *tables: str) -> None:
    """Raise ``NoData`` naming what is missing when the analytics tables are not built."""
    missing = [t for t in tables if t not in existing_tables(conn)]
    if missing:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        raise NoData(f"table {', '.join(missing)} not built yet (database schema v{version}): "
                     "run `blueplane refresh` (or `blueplane up`) to compute the analytics")


def has_rows(conn: sqlite3.Connection, table: str) -> bool:
    return table in existing_tables(conn) and conn.execute(
        f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None


# ------------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in ISO-8601 UTC (``None`` = unbounded).

    ``whole_days`` windows start and end at UTC midnight and can be answered from the
    daily rollups.
    """

    label: str
    start: str | None
    end: str | None
    whole_days: bool

    @property
    def start_day(self) -> str | None:
        return self.start[:10] if self.start else None

    @property
    def end_day(self) -> str | None:
        """First day *not* in the window (whole-day windows) / day of ``end``."""
        return self.end[:10] if self.end else None



_PERIOD = re.compile(r"^(\d+)([hd])$")


def parse_period(period: str, now: datetime | None = None) -> tuple[Window, Window | None]:
    """``"24h"``/``"7d"``/``"all"`` -> (window, the window just before it or ``None``)."""
    now = now or datetime.now(UTC)
    period = period.strip().lower()
    if period == "all":
        return Window("all", None, None, True), None
    match = _PERIOD.match(period)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"unknown period {period!r}: use 1h, 24h, 7d, 30d, <N>h, <N>d or all")
    n, unit = int(match.group(1)), match.group(2)
    if unit == "h":
        span = timedelta(hours=n)
        end = now
        cur = Window(period, iso_dt(end - span), iso_dt(end), False)
        prev = Window(f"previous {period}", iso_dt(end - 2 * span), iso_dt(end - span), False)
        return cur, prev
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today + timedelta(days=1)
    span = timedelta(days=n)
    cur = Window(period, iso_dt(end - span), iso_dt(end), True)
    prev = Window(f"previous {period}", iso_dt(end - 2 * span), iso_dt(end - span), True)
    return cur, prev


def parse_when(value: str, *, end_of_day: bool = False) -> str:
    """A user date (``YYYY-MM-DD``) or ISO time -> ISO-8601 UTC; ``ValueError`` otherwise.

    With ``end_of_day`` a bare date means the start of the next day (exclusive bounds).
    """
    value = value.strip()
    try:
        if len(value) == 10:
            dt = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return iso_dt(dt + timedelta(days=1) if end_of_day else dt)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO-8601 time)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return iso_dt(dt)


# ------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    platform: str | None = None
    project: str | None = None  # a project name or full path


def project_paths(conn: sqlite3.Connection, project: str) -> list[str]:
    """The project paths a user's ``--project`` names (exact path or last component)."""
    rows = conn.execute(
        "SELECT DISTINCT project_path FROM sessions WHERE project_path = ? OR project_name = ?",
        (project, project)).fetchall()
    return [r[0] for r in rows]


def _in(column: str, values: Sequence[object]) -> tuple[str, list]:
    if not values:
        return "0", []
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


class _Where:
    """Accumulates ``AND``-ed SQL conditions and their parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[object] = []

    def add(self, sql: str, *params: object) -> _Where:
        self.parts.append(sql)
        self.params.extend(params)
        return self

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.parts)) if self.parts else ""


def _filters(where: _Where, conn: sqlite3.Connection, filters: Filters, *,
             platform_col: str | None = "platform", project_col: str = "project_path",
             via_session: bool = False) -> _Where:
    """Add platform/project conditions; ``via_session`` filters through ``sessions``."""
    paths = project_paths(conn, filters.project) if filters.project else None
    if via_session and (filters.platform or paths is not None):
        sub = _Where()
        if filters.platform:
            sub.add("platform = ?", filters.platform)
        if paths is not None:
            sql, params = _in("project_path", paths)
            sub.add(sql, *params)
        where.add(f"session_id IN (SELECT session_id FROM sessions{sub.sql()})", *sub.params)
        return where
    if filters.platform and platform_col:
        where.add(f"{platform_col} = ?", filters.platform)
    if paths is not None:
        sql, params = _in(project_col, paths)
        where.add(sql, *params)
    return where


def _window(where: _Where, window: Window, *, day_col: str = "day",
            ts_expr: str | None = None) -> _Where:
    """Restrict to ``window``: by day for whole-day windows, else by time (day prunes first)."""
    if window.start:
        where.add(f"{day_col} >= ?", window.start_day)
    if window.end:
        if window.whole_days:
            where.add(f"{day_col} < ?", window.end_day)
        else:
            where.add(f"{day_col} <= ?", window.end_day)
    if not window.whole_days and ts_expr:
        if window.start:
            where.add(f"{ts_expr} >= ?", window.start)
        if window.end:
            where.add(f"{ts_expr} < ?", window.end)
    return where


# --------------------------------------------------------------------------- percentiles


def latency_percentiles(values: Iterable[float]) -> dict[str, float | None]:
    """p50/p95/p99 of ``values``, exact (``analytics.metrics``, as the rollups use)."""
    return dict(zip(LATENCIES, p50_p95_p99(list(values)), strict=True))


def _grouped_latencies(conn: sqlite3.Connection, key_sql: str, where: _Where,
                       ) -> dict[object, dict[str, float | None]]:
    """Exact p50/p95/p99 of the matching tool calls per ``key_sql``: every value is read
    and sorted (measured faster here than two-pass rank selection inside SQLite)."""
    cond = where.sql() + (" AND " if where.parts else " WHERE ") + "latency_ms IS NOT NULL"
    if key_sql == "''":  # one group: skip the key column (a third less to transfer)
        values = [v for (v,) in conn.execute(f"SELECT latency_ms FROM tool_calls{cond}",
                                             where.params)]
        return {"": latency_percentiles(values)} if values else {}
    buckets: dict[object, list[float]] = {}
    for key, value in conn.execute(f"SELECT {key_sql}, latency_ms FROM tool_calls{cond}",
                                   where.params):
        buckets.setdefault(key, []).append(value)
    return {key: latency_percentiles(values) for key, values in buckets.items()}


# ------------------------------------------------------------------------------- metrics


def derive_rates(row: dict) -> dict:
    """Fill the rates of ``docs/metrics.md`` from summed counters (never average rates)."""
    row.update(daily_rates(row))
    return row


def _empty_row() -> dict:
    return dict.fromkeys(COUNTERS, 0)


# Group keys per table: metrics_daily, sessions, turns, tool_calls, token_usage.
_KEYS = {
    None: ("''", "''", "''", "''", "''"),
    "day": ("day", "day", "day", "day", "substr(ts, 1, 10)"),
    "model": ("model", "primary_model", "model", "model", "coalesce(model, '')"),
    "project": ("project_path", "project_path", "project_path", "project_path",
                "coalesce((SELECT s.project_path FROM sessions s"
                " WHERE s.session_id = token_usage.session_id), '')"),
    "platform": ("platform", "platform", "platform", "platform", "'claude_code'"),
}


def aggregate(conn: sqlite3.Connection, window: Window, filters: Filters = Filters(),
              group_by: str | None = None) -> list[dict]:
    """The metrics of ``window``, one dict per group (a single row when not grouped).

    Keys: ``key`` (the group value) plus every name in ``METRICS``. Whole-day windows read
    the ``metrics_daily`` rollup; shorter windows count rows of the row-level tables.
    """
    if group_by == "tool":
        return [_tool_as_metrics(r) for r in tool_performance(conn, window, filters)]
    if group_by not in _KEYS:
        raise ValueError(f"unknown group-by {group_by!r}: use one of {', '.join(GROUP_BYS)}")
    require(conn, "metrics_daily", "tool_calls")
    keys = _KEYS[group_by]
    rows = (_from_rollup(conn, window, filters, keys[0]) if window.whole_days
            else _from_rows(conn, window, filters, keys))
    where = _filters(_window(_Where(), window, ts_expr="coalesce(started_at, ended_at)"),
                     conn, filters)
    pcts = _grouped_latencies(conn, keys[3], where)
    out = []
    for key in sorted(set(rows) | set(pcts), key=lambda k: (k is None, str(k))):
        row = rows.get(key) or _empty_row()
        row = derive_rates(row)
        row.update(pcts.get(key) or dict.fromkeys(LATENCIES))
        out.append({"key": key, **row})
    if group_by is None and not out:
        out.append({"key": "", **derive_rates(_empty_row()), **dict.fromkeys(LATENCIES)})
    return out


def summary(conn: sqlite3.Connection, window: Window, filters: Filters = Filters()) -> dict:
    """The metrics of ``window`` as one dict (see ``aggregate``)."""
    row = aggregate(conn, window, filters)[0]
    row.pop("key", None)
    return row


def _from_rollup(conn: sqlite3.Connection, window: Window, filters: Filters,
                 key: str) -> dict[object, dict]:
    where = _filters(_window(_Where(), window), conn, filters)
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in COUNTERS)
    sql = f"SELECT {key}, {sums} FROM metrics_daily{where.sql()} GROUP BY 1"
    return {r[0]: dict(zip(COUNTERS, r[1:], strict=True))
            for r in conn.execute(sql, where.params)}


def _from_rows(conn: sqlite3.Connection, window: Window, filters: Filters,
               keys: tuple[str, ...]) -> dict[object, dict]:
    """Counters from the row-level tables (windows that do not align with days)."""
    rows: dict[object, dict] = {}

    def merge(sql: str, where: _Where, names: Sequence[str]) -> None:
        for r in conn.execute(sql + where.sql() + " GROUP BY 1", where.params):
            target = rows.setdefault(r[0], _empty_row())
            for name, value in zip(names, r[1:], strict=True):
                target[name] += value or 0

    where = _filters(_window(_Where(), window, ts_expr="started_at"), conn, filters)
    merge(f"SELECT {keys[1]}, count(*) FROM sessions", where, ("sessions",))
    merge(f"SELECT {keys[2]}, count(*), sum(active_s) FROM turns", where,
          ("prompts", "active_s"))
    where = _filters(_window(_Where(), window, ts_expr="coalesce(started_at, ended_at)"),
                     conn, filters)
    merge(
        f"SELECT {keys[3]}, count(*), sum(status = 'success'), sum(status = 'error'),"
        " sum(status = 'rejected'), sum(status = 'interrupted'), sum(status = 'pending'),"
        " sum(is_edit AND status = 'success'), sum(is_edit AND status = 'rejected'),"
        " sum(is_edit AND status = 'success' AND user_modified),"
        " sum(CASE WHEN is_edit AND status = 'success' THEN lines_added END),"
        " sum(CASE WHEN is_edit AND status = 'success' THEN lines_removed END)"
        " FROM tool_calls", where,
        ("tool_calls", "tool_success", "tool_errors", "tool_rejected", "tool_interrupted",
         "tool_pending", "edits_accepted", "edits_rejected", "edits_user_modified",
         "lines_added", "lines_removed"))
    if "token_usage" in existing_tables(conn):
        where = _Where()
        if window.start:
            where.add("ts_ms >= ?", parse_iso_ms(window.start))
        if window.end:
            where.add("ts_ms < ?", parse_iso_ms(window.end))
        if filters.platform and filters.platform != "claude_code":
            where.add("0")
        _filters(where, conn, Filters(None, filters.project), via_session=True)
        merge(f"SELECT {keys[4]}, sum(input_tokens), sum(output_tokens),"
              " sum(cache_creation_tokens), sum(cache_read_tokens), sum(total_tokens),"
              " sum(cost_usd) FROM token_usage", where,
              ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
               "total_tokens", "cost_usd"))
    return rows



def compare(current: dict, previous: dict | None) -> dict[str, dict]:
    """Per metric: value, previous value, relative change and whether it is good news."""
    out = {}
    for name in METRICS:
        now, before = current.get(name), (previous or {}).get(name)
        change = None
        if now is not None and before not in (None, 0):
            change = (now - before) / abs(before)
        direction = DIRECTION.get(name, 1 if name in ("sessions", "prompts") else 0)
        good = None
        if change and direction:
            good = (change > 0) == (direction > 0)
        delta = now - before if now is not None and before is not None else None
        out[name] = {"value": now, "previous": before, "change": change, "delta": delta,
                     "good": good}
    return out


# ------------------------------------------------------------------------------- tools


def tool_performance(conn: sqlite3.Connection, window: Window, filters: Filters = Filters(),
                     tool: str | None = None) -> list[dict]:
    """Per tool over ``window``: calls by status, rates, exact latency percentiles."""
    require(conn, "tool_calls")
    where = _filters(_window(_Where(), window, ts_expr="coalesce(started_at, ended_at)"),
                     conn, filters)
    if tool:
        where.add("tool_name = ?", tool)
    sql = ("SELECT tool_name, max(mcp_server), count(DISTINCT session_id), count(*),"
           " sum(status = 'success'), sum(status = 'error'), sum(status = 'rejected'),"
           " sum(status = 'interrupted'), sum(status = 'pending'), max(is_edit),"
           " sum(user_modified AND status = 'success'),"
           " sum(CASE WHEN status = 'success' THEN lines_added ELSE 0 END),"
           " sum(CASE WHEN status = 'success' THEN lines_removed ELSE 0 END), max(latency_ms)"
           f" FROM tool_calls{where.sql()} GROUP BY tool_name")
    pcts = _grouped_latencies(conn, "tool_name", where)
    out = []
    for (name, server, sessions, calls, ok, err, rej, intr, pend, is_edit, modified, added,
         removed, slowest) in conn.execute(sql, where.params):
        row = {
            "tool_name": name, "mcp_server": server, "sessions": sessions, "calls": calls,
            "success": ok, "errors": err, "rejected": rej, "interrupted": intr,
            "pending": pend,
            "error_rate": error_rate(err, ok),
            "rejection_rate": rejection_rate(rej, calls),
            "interruption_rate": interruption_rate(intr, calls),
            "acceptance_rate": acceptance_rate(ok, rej) if is_edit else None,
            "user_modified": modified, "lines_added": added, "lines_removed": removed,
            "latency_max_ms": slowest,
        }
        row.update(pcts.get(name) or dict.fromkeys(LATENCIES))
        out.append(row)
    out.sort(key=lambda r: (-r["calls"], r["tool_name"]))
    return out


def _tool_as_metrics(row: dict) -> dict:
    """A ``tool_performance`` row in the vocabulary of ``aggregate``."""
    out = {"key": row["tool_name"], **dict.fromkeys(METRICS)}
    out.update({
        "tool_calls": row["calls"], "tool_success": row["success"],
        "tool_errors": row["errors"], "tool_rejected": row["rejected"],
        "tool_interrupted": row["interrupted"], "tool_pending": row["pending"],
        "error_rate": row["error_rate"], "interruption_rate": row["interruption_rate"],
        "acceptance_rate": row["acceptance_rate"], "lines_added": row["lines_added"],
        "lines_removed": row["lines_removed"],
    })
    out.update({k: row[k] for k in LATENCIES})
    return out


# ------------------------------------------------------------------------------ sessions

SESSION_LIST_COLUMNS = (
    "session_id", "platform", "project_name", "started_at", "duration_s", "active_s",
    "prompts", "tool_calls", "tool_errors", "edits_accepted", "edits_rejected",
    "acceptance_rate", "lines_added", "lines_removed", "total_tokens", "cost_usd",
    "primary_model", "title",
)


def list_sessions(conn: sqlite3.Connection, filters: Filters = Filters(), *,
                  since: str | None = None, until: str | None = None,
                  min_acceptance: float | None = None, limit: int = 20, offset: int = 0,
                  ) -> tuple[list[dict], int]:
    """Sessions newest first, and how many match in all (for paging).

    ``since``/``until`` are ISO-8601 UTC bounds on ``started_at`` (``until`` exclusive).
    """
    require(conn, "sessions")
    where = _filters(_Where(), conn, filters)
    if since:
        where.add("started_at >= ?", since)
    if until:
        where.add("started_at < ?", until)
    if min_acceptance is not None:
        where.add("acceptance_rate >= ?", min_acceptance)
    cols = ", ".join(
        "input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens"
        " AS total_tokens" if c == "total_tokens" else c for c in SESSION_LIST_COLUMNS)
    total = conn.execute(f"SELECT count(*) FROM sessions{where.sql()}",
                         where.params).fetchone()[0]
    cur = conn.execute(
        f"SELECT {cols} FROM sessions{where.sql()} ORDER BY started_at DESC, session_id"
        " LIMIT ? OFFSET ?", [*where.params, limit, offset])
    return [dict(zip(SESSION_LIST_COLUMNS, r, strict=True)) for r in cur], total


def _rows(cur: sqlite3.Cursor) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


def resolve_session(conn: sqlite3.Connection, session_id: str) -> tuple[str | None, list[str]]:
    """(the session id meant, suggestions). A unique prefix resolves like a git hash."""
    require(conn, "sessions")
    if conn.execute("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)).fetchone():
        return session_id, []
    prefixed = [r[0] for r in conn.execute(
        "SELECT session_id FROM sessions WHERE session_id >= ? AND session_id < ?"
        " ORDER BY session_id LIMIT 6", (session_id, session_id + "\U0010ffff"))]
    if len(prefixed) == 1 and len(session_id) >= 4:
        return prefixed[0], []
    if prefixed:
        return None, prefixed[:5]
    ids = [r[0] for r in conn.execute("SELECT session_id FROM sessions LIMIT 2001")]
    if len(ids) > 2000:  # compare with ids sharing a start or an end (typos are local)
        ids = [r[0] for r in conn.execute(
            "SELECT session_id FROM sessions WHERE substr(session_id, 1, 2) = ?"
            " OR substr(session_id, -4) = ?", (session_id[:2], session_id[-4:]))]
    close = difflib.get_close_matches(session_id, ids, n=5, cutoff=0.6)
    if not close:
        head = session_id[:4]
        close = [i for i in ids if i.startswith(head)][:5]
    return None, close


def session_detail(conn: sqlite3.Connection, session_id: str) -> dict | None:
    """Everything about one session: its row, turns (timeline), tools and files."""
    require(conn, "sessions", "turns", "tool_calls", "file_edits")
    cur = conn.execute("SELECT * FROM sessions WHERE session_id = ?", (session_id,))
    found = _rows(cur)
    if not found:
        return None
    turns = _rows(conn.execute(
        "SELECT turn_index, started_at, duration_s, active_s, model, prompt_chars,"
        " prompt_text, tool_calls, tool_errors, tool_rejected, tool_interrupted,"
        " edits_accepted, edits_rejected, lines_added, lines_removed, interrupted, timeline"
        " FROM turns WHERE session_id = ? ORDER BY turn_index", (session_id,)))
    where = _Where().add("session_id = ?", session_id)
    pcts = _grouped_latencies(conn, "tool_name", where)
    tools = _rows(conn.execute(
        "SELECT tool_name, count(*) AS calls, sum(status = 'success') AS success,"
        " sum(status = 'error') AS errors, sum(status = 'rejected') AS rejected,"
        " sum(status = 'interrupted') AS interrupted, sum(status = 'pending') AS pending,"
        " sum(latency_ms) AS total_latency_ms FROM tool_calls WHERE session_id = ?"
        " GROUP BY tool_name ORDER BY calls DESC, tool_name", (session_id,)))
    for t in tools:
        t.update(pcts.get(t["tool_name"]) or dict.fromkeys(LATENCIES))
    files = _rows(conn.execute(
        "SELECT file_path, file_ext, count(*) AS edits, sum(accepted = 1) AS accepted,"
        " sum(accepted = 0) AS rejected, sum(user_modified) AS user_modified,"
        " sum(lines_added) AS lines_added, sum(lines_removed) AS lines_removed,"
        " sum(reedited_within_5m) AS reedited_within_5m, min(ts) AS first_edit"
        " FROM file_edits WHERE session_id = ? GROUP BY file_path"
        " ORDER BY edits DESC, file_path", (session_id,)))
    errors = _rows(conn.execute(
        "SELECT started_at, tool_name, status, error_class, error_text FROM tool_calls"
        " WHERE session_id = ? AND status IN ('error', 'rejected', 'interrupted')"
        " ORDER BY coalesce(started_at, ended_at)", (session_id,)))
    return {"session": found[0], "turns": turns, "tools": tools, "files": files,
            "errors": errors}


# ------------------------------------------------------------------------------ insights


def list_insights(conn: sqlite3.Connection, *, kind: str | None = None,
                  severity: str | None = None) -> list[dict]:
    """Stored findings, warnings first."""
    require(conn, "insights")
    where = _Where()
    if kind:
        where.add("kind = ?", kind)
    if severity:
        where.add("severity = ?", severity)
    return _rows(conn.execute(
        f"SELECT * FROM insights{where.sql()}"
        " ORDER BY severity = 'warn' DESC, kind, metric_value DESC, insight_id", where.params))


# -------------------------------------------------------------------------------- export

# The column that dates each table's rows, for date-range exports.
DATE_COLUMNS = {
    "sessions": "day", "tool_calls": "day", "turns": "day", "file_edits": "day",
    "metrics_daily": "day", "tool_metrics": "day", "insights": "window_end",
    "token_usage": "substr(ts, 1, 10)",
}


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def iter_table(conn: sqlite3.Connection, table: str, *, since_day: str | None = None,
               until_day: str | None = None) -> tuple[list[str], Iterable[tuple]]:
    """(columns, rows) of one exportable table; days inclusive, ``YYYY-MM-DD``."""
    if table not in EXPORT_TABLES:
        raise ValueError(f"unknown table {table!r}: use one of {', '.join(EXPORT_TABLES)}")
    require(conn, table)
    where = _Where()
    date = DATE_COLUMNS[table]
    if since_day:
        where.add(f"{date} >= ?", since_day)
    if until_day:
        where.add(f"{date} <= ?", until_day)
    cur = conn.execute(f"SELECT * FROM {table}{where.sql()}", where.params)
    return [d[0] for d in cur.description], cur


# --------------------------------------------------------------------------------- watch


def recent_activity(conn: sqlite3.Connection, *, sessions: int = 8,
                    calls: int = 12) -> dict:
    """What the live view shows: today's numbers, newest sessions and tool calls."""
    today, _ = parse_period("1d")
    require(conn, "sessions", "tool_calls", "metrics_daily")
    newest = _rows(conn.execute(
        "SELECT session_id, platform, project_name, started_at, ended_at, prompts, tool_calls,"
        " tool_errors, acceptance_rate, cost_usd FROM sessions ORDER BY ended_at DESC"
        " LIMIT ?", (sessions,)))
    latest_calls = _rows(conn.execute(
        "SELECT coalesce(started_at, ended_at) AS at, session_id, tool_name, status,"
        " latency_ms FROM tool_calls WHERE day >= (SELECT max(day) FROM tool_calls)"
        " ORDER BY at DESC LIMIT ?", (calls,)))
    return {"today": summary(conn, today), "sessions": newest, "tool_calls": latest_calls,
            "last_event": newest[0]["ended_at"] if newest else None,
            **analytics_backlog(conn)}


BACKLOG_CAP = 100_000  # counting further would cost a report more than it tells


def analytics_backlog(conn: sqlite3.Connection) -> dict:
    """What the analytics have not caught up with: stored events not read yet (counted up
    to ``BACKLOG_CAP``; the oldest by capture time) and days whose rollups are queued.

    A backlog that grows old means nothing is refreshing the tables (pipeline not running).
    """
    tables = existing_tables(conn)
    out: dict = {"events_waiting": None, "oldest_waiting": None, "days_waiting": None}
    if "analytics_dirty_days" in tables:
        out["days_waiting"] = conn.execute(
            "SELECT count(*) FROM analytics_dirty_days").fetchone()[0]
    if "raw_events" not in tables or "analytics_state" not in tables:
        return out
    row = conn.execute("SELECT value FROM analytics_state WHERE name = 'sessions.last_seq'"
                       ).fetchone()
    mark = int(row[0]) if row and row[0] is not None else 0
    count, oldest = conn.execute(
        "SELECT count(*), min(ts_ms) FROM (SELECT ts_ms FROM raw_events WHERE seq > ?"
        " ORDER BY seq LIMIT ?)", (mark, BACKLOG_CAP)).fetchone()
    out["events_waiting"] = count
    out["oldest_waiting"] = (iso_dt(datetime.fromtimestamp(oldest / 1000, UTC))
                             if oldest is not None else None)
    return out


# ------------------------------------------------------------------- patterns (MCP server)
# Appended for the MCP server's analysis tools; same conventions as above.

ACCEPTANCE_BYS = {"tool": "tool_name", "file_ext": "file_ext", "model": "model", "day": "day",
                  "project": "project_path"}


def acceptance_breakdown(conn: sqlite3.Connection, window: Window, filters: Filters = Filters(),
                         by: str = "tool", *, file_ext: str | None = None) -> list[dict]:
    """Edit decisions grouped ``by`` tool/file_ext/model/day/project, from ``file_edits``:
    accepted, rejected, user-modified, churn (re-edited within 5 min), lines, rates."""
    if by not in ACCEPTANCE_BYS:
        raise ValueError(f"unknown grouping {by!r}: use one of {', '.join(ACCEPTANCE_BYS)}")
    require(conn, "file_edits")
    where = _filters(_window(_Where(), window, ts_expr="ts"), conn, filters)
    if file_ext is not None:
        where.add("file_ext = ?", file_ext)
    rows = _rows(conn.execute(
        f"SELECT {ACCEPTANCE_BYS[by]} AS key, count(*) AS edits,"
        " coalesce(sum(accepted = 1), 0) AS accepted, coalesce(sum(accepted = 0), 0) AS rejected,"
        " coalesce(sum(accepted = 1 AND user_modified = 1), 0) AS user_modified,"
        " coalesce(sum(accepted = 1 AND reedited_within_5m = 1), 0) AS reedited_within_5m,"
        " coalesce(sum(lines_added), 0) AS lines_added,"
        " coalesce(sum(lines_removed), 0) AS lines_removed"
        f" FROM file_edits{where.sql()} GROUP BY 1 ORDER BY edits DESC, key", where.params))
    for row in rows:
        row["acceptance_rate"] = acceptance_rate(row["accepted"], row["rejected"])
        row["user_modified_share"] = user_modified_share(row["user_modified"], row["accepted"])
    return rows


def error_breakdown(conn: sqlite3.Connection, window: Window, filters: Filters = Filters(), *,
                    tool: str | None = None, file_ext: str | None = None) -> list[dict]:
    """Failed, rejected and interrupted calls per (tool, status, error class), most first,
    with sessions affected, the last time seen and that newest call's error text (SQLite
    takes bare columns from the row that holds the ``max``)."""
    require(conn, "tool_calls")
    where = _filters(_window(_Where(), window, ts_expr="coalesce(started_at, ended_at)"),
                     conn, filters)
    where.add("status IN ('error', 'rejected', 'interrupted')")
    if tool:
        where.add("tool_name = ?", tool)
    if file_ext is not None:
        where.add("file_ext = ?", file_ext)
    return _rows(conn.execute(
        "SELECT tool_name, status, coalesce(error_class, 'other') AS error_class,"
        " count(*) AS calls, count(DISTINCT session_id) AS sessions,"
        " max(coalesce(started_at, ended_at)) AS last_seen, error_text AS example"
        f" FROM tool_calls{where.sql()} GROUP BY 1, 2, 3 ORDER BY calls DESC, 1, 3",
        where.params))


def call_counts(conn: sqlite3.Connection, window: Window, filters: Filters = Filters(), *,
                tool: str | None = None, file_ext: str | None = None) -> dict:
    """Tool calls by status in the window (the denominators of ``error_breakdown``)."""
    require(conn, "tool_calls")
    where = _filters(_window(_Where(), window, ts_expr="coalesce(started_at, ended_at)"),
                     conn, filters)
    if tool:
        where.add("tool_name = ?", tool)
    if file_ext is not None:
        where.add("file_ext = ?", file_ext)
    row = conn.execute(
        "SELECT count(*), coalesce(sum(status = 'success'), 0), coalesce(sum(status = 'error'),"
        " 0), coalesce(sum(status = 'rejected'), 0), coalesce(sum(status = 'interrupted'), 0)"
        f" FROM tool_calls{where.sql()}", where.params).fetchone()
    return dict(zip(("calls", "success", "errors", "rejected", "interrupted"), row, strict=True))


def turn_calls(conn: sqlite3.Connection, window: Window, filters: Filters = Filters(), *,
               keys: Sequence[tuple[str, int]] | None = None,
               with_calls: bool = True) -> list[dict]:
    """Turns with their outcome counts and their tool calls in order (main thread and
    subagents), for pattern mining. ``keys`` restricts to given (session_id, turn_index).
    Each call maps tool_name, status, latency_ms, error_class, file_ext, is_sidechain.
    ``with_calls=False`` skips reading the calls (``calls`` stays empty)."""
    require(conn, "turns", "tool_calls")
    where = _filters(_window(_Where(), window, ts_expr="started_at"), conn, filters)
    if keys is not None:
        if not keys:
            return []
        where.add("(session_id, turn_index) IN (VALUES "
                  + ",".join("(?, ?)" for _ in keys) + ")",
                  *[v for key in keys for v in key])
    turns = _rows(conn.execute(
        "SELECT session_id, turn_index, day, project_path, model, started_at, duration_s,"
        " active_s, prompt_chars, tool_calls, tool_errors, tool_rejected, tool_interrupted,"
        " edits_accepted, edits_rejected, interrupted"
        f" FROM turns{where.sql()} ORDER BY started_at", where.params))
    by_key = {(t["session_id"], t["turn_index"]): t for t in turns}
    for t in turns:
        t["calls"] = []
    # Calls come back as sqlite3.Row (mapping access by column name, built in C): at
    # 300k calls, building a dict per call cost more than the query.
    sessions = sorted({t["session_id"] for t in turns}) if with_calls else []
    for start in range(0, len(sessions), 500):
        chunk = sessions[start:start + 500]
        sql, params = _in("session_id", chunk)
        cur = conn.cursor()
        cur.row_factory = sqlite3.Row
        cur.execute(
            "SELECT session_id, turn_index, tool_name, status, latency_ms, error_class,"
            f" file_ext, is_sidechain FROM tool_calls WHERE {sql} AND turn_index IS NOT NULL"
            " ORDER BY coalesce(started_at, ended_at)", params)
        for call in cur:
            turn = by_key.get((call[0], call[1]))
            if turn is not None:
                turn["calls"].append(call)
    return turns


def prompt_texts(conn: sqlite3.Connection) -> list[tuple[str, int | None, str]]:
    """(session_id, turn_index, text) of every stored prompt, and (session_id, None, title)
    of every session title: what full-text search indexes."""
    require(conn, "turns", "sessions")
    rows = conn.execute(
        "SELECT session_id, turn_index, prompt_text FROM turns"
        " WHERE prompt_text IS NOT NULL AND prompt_text != ''").fetchall()
    rows += conn.execute(
        "SELECT session_id, NULL, title FROM sessions WHERE title IS NOT NULL AND title != ''"
    ).fetchall()
    return rows


def text_signature(conn: sqlite3.Connection) -> tuple:
    """Changes whenever the searchable text can have changed (cache key for indexes)."""
    require(conn, "turns", "sessions")
    return (conn.execute("SELECT count(*), max(started_at), max(ended_at) FROM turns").fetchone()
            + conn.execute("SELECT count(*), max(ended_at) FROM sessions").fetchone())


def sessions_by_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> list[dict]:
    """The ``list_sessions`` columns of the given sessions, in the order given."""
    require(conn, "sessions")
    if not ids:
        return []
    cols = ", ".join(
        "input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens"
        " AS total_tokens" if c == "total_tokens" else c for c in SESSION_LIST_COLUMNS)
    sql, params = _in("session_id", list(ids))
    found = {r[0]: dict(zip(SESSION_LIST_COLUMNS, r, strict=True))
             for r in conn.execute(f"SELECT {cols} FROM sessions WHERE {sql}", params)}
    return [found[i] for i in ids if i in found]


def newest_session_end(conn: sqlite3.Connection) -> str | None:
    require(conn, "sessions")
    return conn.execute("SELECT max(ended_at) FROM sessions").fetchone()[0]


def session_count(conn: sqlite3.Connection) -> int:
    require(conn, "sessions")
    return conn.execute("SELECT count(*) FROM sessions").fetchone()[0]


def project_names(conn: sqlite3.Connection) -> list[str]:
    """Known project names (last path component), most sessions first."""
    require(conn, "sessions")
    return [r[0] for r in conn.execute(
        "SELECT project_name FROM sessions WHERE project_name != '' GROUP BY project_name"
        " ORDER BY count(*) DESC, project_name")]


def tool_names(conn: sqlite3.Connection, limit: int = 50) -> list[str]:
    """Tools seen, most called first."""
    require(conn, "tool_calls")
    return [r[0] for r in conn.execute(
        "SELECT tool_name FROM tool_calls GROUP BY tool_name ORDER BY count(*) DESC, tool_name"
        " LIMIT ?", (limit,))]
