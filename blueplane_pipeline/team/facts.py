"""The facts a laptop publishes, read from its own ``telemetry.db`` (read-only) and passed
through the share policy. Nothing else leaves: no prompt, title, path, branch, file name,
tool input or output, error text or raw session id is ever selected here.

Each kind is a dict ``natural key -> row`` in the column order of ``schema.FactTable``
(key columns, then values). Usage is kept per quarter hour: every timezone offset in use
is a multiple of 15 minutes, so the team can sum it into days in any timezone and match
each laptop's own ``usage daily`` exactly.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

import orjson

from blueplane_pipeline.storage.db import has_table
from blueplane_pipeline.team.schema import SESSIONS, TOOLS, USAGE
from blueplane_pipeline.team.share import Policy

QUARTER_MS = 900_000
_ERROR_CLASS = re.compile(r"[a-z_]{1,32}")
Row = tuple
Facts = dict[str, dict[tuple, Row]]


@dataclass
class Extracted:
    facts: Facts = field(default_factory=dict)
    # The earliest day each kind still holds on the laptop: facts that vanished before it
    # were purged locally and stay in the team store; later ones are deleted there.
    floor_day: dict[str, str | None] = field(default_factory=dict)


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return has_table(conn, table)


def extract(conn: sqlite3.Connection, policy: Policy, developer: str) -> Extracted:
    out = Extracted()
    sessions = list(conn.execute(f"SELECT {', '.join(_SESSION_COLS)} FROM sessions")) \
        if _has(conn, "sessions") else []
    usage = _usage_by_session(conn) if _has(conn, "token_usage") and (
        policy.shares("usage") or policy.shares("sessions")) else []
    for kind, build in (("sessions", lambda: _sessions(sessions, usage, policy, developer)),
                        ("usage", lambda: _usage(usage, sessions, policy, developer)),
                        ("tools", lambda: _tools(conn, policy, developer)
                         if _has(conn, "tool_calls") else {})):
        if not policy.shares(kind):
            continue
        rows = build()
        out.facts[kind] = rows
        out.floor_day[kind] = min((day_of(kind, k, r) for k, r in rows.items()), default=None)
    return out


_SESSION_DAY = len(SESSIONS.key) + [n for n, _ in SESSIONS.values].index("day")
_DAYS: dict[int, str] = {}


def day_of(kind: str, key: tuple, row: Row) -> str:
    """The UTC day a fact belongs to (``YYYY-MM-DD``)."""
    if kind == "usage":
        index = key[0] // 86_400_000
        day = _DAYS.get(index)
        if day is None:
            from datetime import UTC, datetime

            day = _DAYS[index] = datetime.fromtimestamp(index * 86_400, UTC).date().isoformat()
        return day
    if kind == "sessions":
        return row[_SESSION_DAY]
    return key[0]


_SESSION_COLS = ("session_id", "platform", "project_name", "models", "primary_model",
                 "started_at", "ended_at", "day", "duration_s", "active_s", "prompts",
                 "assistant_messages", "tool_calls", "tool_success", "tool_errors",
                 "tool_rejected", "tool_interrupted", "tool_pending", "edits_accepted",
                 "edits_rejected", "edits_user_modified", "lines_added", "lines_removed",
                 "input_tokens", "output_tokens", "cache_creation_tokens",
                 "cache_read_tokens", "cost_usd", "interrupts", "compactions", "subagents")


def _usage_by_session(conn: sqlite3.Connection) -> list[tuple]:
    """token_usage summed per quarter hour x platform x model x session, in one scan: the
    usage facts (once sessions name their projects) and each session's model mix."""
    return conn.execute(
        f"SELECT ts_ms / {QUARTER_MS}, platform, coalesce(model, ''), session_id,"
        " min(project), min(ts_ms), max(ts_ms), count(*), sum(input_tokens),"
        " sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens),"
        " sum(cost_usd), max(cost_source = 'unknown_model' AND total_tokens > 0),"
        " sum(total_tokens) FROM token_usage GROUP BY 1, 2, 3, 4").fetchall()


def _sessions(sessions: list[tuple], usage: list[tuple], policy: Policy,
              developer: str) -> dict[tuple, Row]:
    mix: dict[str, dict[str, int]] = defaultdict(dict)
    for row in usage:
        model, session, total = row[2], row[3], row[14]
        per = mix[session]
        per[model] = per.get(model, 0) + total
    out = {}
    for r in sessions:
        session_id, platform, project_name, models = r[0], r[1], r[2], r[3]
        models_used = mix.get(session_id) or {m: 0 for m in (models or "").split(",") if m}
        key = (policy.session(session_id),)
        out[key] = (*key, developer, platform, policy.project(project_name),
                    _json(models_used), *r[4:])
    return out


def _usage(usage: list[tuple], sessions: list[tuple], policy: Policy,
           developer: str) -> dict[tuple, Row]:
    names = {r[0]: r[2] for r in sessions}
    sums: dict[tuple, list] = {}
    for (quarter, platform, model, session, folder, first, last, n, inp, outp, cw, cr, cost,
         unpriced, _total) in usage:
        key = (quarter * QUARTER_MS, platform, model, policy.project(names.get(session),
                                                                     folder))
        acc = sums.get(key)
        if acc is None:
            sums[key] = [first, last, n, inp, outp, cw, cr, cost, bool(unpriced)]
        else:  # several sessions (or projects with one label) in one quarter hour
            acc[0], acc[1] = min(acc[0], first), max(acc[1], last)
            for i, v in enumerate((n, inp, outp, cw, cr, cost), start=2):
                acc[i] += v
            acc[8] = acc[8] or bool(unpriced)
    return {k: (*k, developer, *v) for k, v in sums.items()}


_STATUS_SUMS = ", ".join(f"sum(status = '{st}')" for st in
                         ("success", "error", "rejected", "interrupted", "pending"))


def _tools(conn: sqlite3.Connection, policy: Policy, developer: str) -> dict[tuple, Row]:
    """Per day x platform x tool: counts by status, lines, every latency (sorted, so the
    team's percentiles are exact) and the classifier's error classes (names only)."""
    groups: dict[tuple, list] = {}
    for day, platform, tool, server, err, is_edit, calls, *sums in conn.execute(
            "SELECT day, platform, tool_name, mcp_server, error_class, max(is_edit), count(*),"
            f" {_STATUS_SUMS}, sum(lines_added), sum(lines_removed) FROM tool_calls"
            " GROUP BY 1, 2, 3, 4, 5"):
        key = (day, platform, policy.tool(tool, server))
        g = groups.get(key)
        if g is None:
            g = groups[key] = [False, 0, 0, 0, 0, 0, 0, 0, 0, [], {}]
        g[0] = g[0] or bool(is_edit)
        for i, v in enumerate((calls, *sums), start=1):
            g[i] += v
        if err and _ERROR_CLASS.fullmatch(err):  # classifier names only, never text
            g[10][err] = g[10].get(err, 0) + calls
    lists: dict[tuple, list] = {}
    for day, platform, tool, server, latency in conn.execute(
            "SELECT day, platform, tool_name, mcp_server, latency_ms FROM tool_calls"
            " WHERE latency_ms IS NOT NULL"):  # the doubles themselves, not their text
        target = lists.get((day, platform, tool, server))
        if target is None:
            target = lists[(day, platform, tool, server)] = groups[
                (day, platform, policy.tool(tool, server))][9]
        target.append(float(latency))
    return {k: (*k, developer, *g[:9], sorted(g[9]), _json(g[10])) for k, g in groups.items()}


def _json(value: dict) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


COLUMNS = {t.kind: tuple(n for n, _ in t.columns) for t in (SESSIONS, USAGE, TOOLS)}
