"""The team reports, read from the published facts (always current, any timezone).

``daily`` has the shape of the laptop's ``usage daily --json`` (ccusage's), built by the
same ``usage.reports.period_report`` from the same quarter-hour rows, so the team's day
equals the sum of its laptops' days exactly. ``developers``, ``projects`` and ``models``
put usage (tokens, cost) beside activity (sessions, prompts, active time, tool errors,
edit acceptance) per group, with the laptop's rate definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blueplane_pipeline.team.schema import SCHEMA
from blueplane_pipeline.usage.reports import UsageRow, period_report

S = SCHEMA
GROUPS = {"developers": "developer", "projects": "project", "models": "model"}
_TOKENS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


@dataclass
class Window:
    """Which facts a report reads: epoch-ms bounds (``[since, until)``) and filters."""

    since_ms: int | None = None
    until_ms: int | None = None
    developer: str | None = None
    project: str | None = None

    def usage_where(self) -> tuple[str, list]:
        return self._where("quarter_start_ms", "{}")

    def session_where(self) -> tuple[str, list]:
        return self._where("started_at", "to_timestamp({} / 1000.0)")

    def _where(self, column: str, wrap: str) -> tuple[str, list]:
        clauses, params = [], []
        if self.since_ms is not None:
            clauses.append(f"{column} >= {wrap.format('%s')}")
            params.append(self.since_ms)
        if self.until_ms is not None:
            clauses.append(f"{column} < {wrap.format('%s')}")
            params.append(self.until_ms)
        for col, value in (("developer", self.developer), ("project", self.project)):
            if value is not None:
                clauses.append(f"{col} = %s")
                params.append(value)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def usage_rows(conn: Any, window: Window) -> list[UsageRow]:
    """Quarter-hour × model rows summed over every device: the laptop's report grain."""
    where, params = window.usage_where()
    sql = (f"SELECT quarter_start_ms, model, min(first_ms), max(last_ms),"
           f" {', '.join(f'sum({c})' for c in _TOKENS)}, sum(cost_usd), sum(messages),"
           f" bool_or(unpriced) FROM {S}.usage_facts{where} GROUP BY 1, 2")
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [UsageRow(first, last, None, None, model or None, int(i), int(o), int(cw), int(cr),
                     float(cost), int(n), bool(unpriced))
            for _q, model, first, last, i, o, cw, cr, cost, n, unpriced in rows]


def daily(conn: Any, window: Window, tz) -> dict:
    """``{"daily": [...], "totals": {...}}`` exactly as ``blueplane usage daily --json``."""
    return period_report(usage_rows(conn, window), "daily", tz)


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


_USAGE_SUMS = ("sum(messages), " + ", ".join(f"sum({c})" for c in _TOKENS) + ", sum(cost_usd)")
_SESSION_SUMS = ("count(*), sum(prompts), sum(active_s), sum(tool_calls), sum(tool_success),"
                 " sum(tool_errors), sum(edits_accepted), sum(edits_rejected),"
                 " sum(lines_added), sum(lines_removed)")
_USAGE_NAMES = ("devices", "developers", "messages", *_TOKENS, "cost_usd")
_SESSION_NAMES = ("sessions", "prompts", "active_s", "tool_calls", "tool_success",
                  "tool_errors", "edits_accepted", "edits_rejected", "lines_added",
                  "lines_removed")
TOTAL = object()  # the key of the totals row (GROUPING SETS' empty set)


def _fetch(conn: Any, sql: str, params: list) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _usage_groups(conn: Any, col: str, window: Window) -> list[tuple]:
    """Per group and in total (the row whose flag is 1): distinct devices and developers
    and the usage sums. Summed per device first, so the distinct counts run over a few
    hundred rows instead of every quarter hour (hash aggregation, no sort to disk)."""
    where, params = window.usage_where()
    per = _USAGE_SUMS.split(", ")
    inner = ", ".join(f"{expr} AS u{i}" for i, expr in enumerate(per))
    outer = ", ".join(f"sum(u{i})" for i in range(len(per)))
    sql = (f"WITH per AS (SELECT {col} AS g, device_id, developer, {inner}"
           f" FROM {S}.usage_facts{where} GROUP BY 1, 2, 3)"
           f" SELECT g, grouping(g), count(DISTINCT device_id), count(DISTINCT developer),"
           f" {outer} FROM per GROUP BY GROUPING SETS ((g), ())")
    return _fetch(conn, sql, params)


def _session_groups(conn: Any, col: str, window: Window) -> list[tuple]:
    where, params = window.session_where()
    return _fetch(conn, f"SELECT {col}, grouping({col}), {_SESSION_SUMS} FROM "
                        f"{S}.session_facts{where} GROUP BY GROUPING SETS (({col}), ())",
                  params)


def grouped(conn: Any, report: str, window: Window) -> dict:
    """``{"<report>": [one row per group, most expensive first], "totals": {...}}``."""
    col = GROUPS[report]
    groups: dict[object, dict] = {TOTAL: {}}
    for key, is_total, *vals in _usage_groups(conn, col, window):
        groups.setdefault(TOTAL if is_total else key, {}).update(
            zip(_USAGE_NAMES, vals, strict=True))
    if col != "model":
        for key, is_total, *vals in _session_groups(conn, col, window):
            groups.setdefault(TOTAL if is_total else key, {}).update(
                zip(_SESSION_NAMES, vals, strict=True))
    totals = groups.pop(TOTAL)
    items = [{col: key, **_shape(vals, col)} for key, vals in groups.items()]
    items.sort(key=lambda r: (-r["cost_usd"], str(r[col])))
    return {report: items, "totals": _shape(totals, col)}


def _shape(vals: dict, col: str) -> dict:
    num = {k: (v if v is not None else 0) for k, v in vals.items()}
    tokens = {c: int(num.get(c, 0)) for c in _TOKENS}
    out: dict[str, Any] = {"developers": int(num.get("developers", 0)),
                           "devices": int(num.get("devices", 0))}
    if col == "developer":
        out.pop("developers")
    if col != "model":
        executed = int(num.get("tool_success", 0)) + int(num.get("tool_errors", 0))
        decided = int(num.get("edits_accepted", 0)) + int(num.get("edits_rejected", 0))
        out.update(
            sessions=int(num.get("sessions", 0)), prompts=int(num.get("prompts", 0)),
            active_hours=round(float(num.get("active_s", 0)) / 3600, 3),
            tool_calls=int(num.get("tool_calls", 0)),
            error_rate=_rate(int(num.get("tool_errors", 0)), executed),
            acceptance_rate=_rate(int(num.get("edits_accepted", 0)), decided),
            lines_added=int(num.get("lines_added", 0)),
            lines_removed=int(num.get("lines_removed", 0)))
    out.update(messages=int(num.get("messages", 0)), **tokens,
               total_tokens=sum(tokens.values()), cost_usd=float(num.get("cost_usd", 0)))
    return out
