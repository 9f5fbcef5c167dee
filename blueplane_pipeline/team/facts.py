"""The facts a laptop publishes, read from its own ``telemetry.db`` (read-only) and passed
through the share policy. Nothing else leaves: no prompt, title, path, branch, file name,
tool input or output, error text or raw session id is ever selected here.

Each kind is a dict ``natural key -> row`` in the column order of ``schema.FactTable``
(key columns, then values). Usage is kept per quarter hour: every timezone offset in use
is a multiple of 15 minutes, so the team can sum it into days in any timezone and match
each laptop's own ``usage daily`` exactly.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

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
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone() is not None


def extract(conn: sqlite3.Connection, policy: Policy, developer: str) -> Extracted:
    out = Extracted()
    readers = {"sessions": (_sessions, "sessions"), "usage": (_usage, "token_usage"),
               "tools": (_tools, "tool_calls")}
    for kind, (reader, table) in readers.items():
        if not policy.shares(kind):
            continue
        rows = reader(conn, policy, developer) if _has(conn, table) else {}
        out.facts[kind] = rows
        out.floor_day[kind] = min((day_of(kind, k, r) for k, r in rows.items()), default=None)
    return out


def day_of(kind: str, key: tuple, row: Row) -> str:
    """The UTC day a fact belongs to (``YYYY-MM-DD``)."""
    if kind == "usage":
        from blueplane_pipeline.core.times import iso_ms

        return iso_ms(key[0])[:10]
    if kind == "sessions":
        return row[len(SESSIONS.key) + [n for n, _ in SESSIONS.values].index("day")]
    return key[0]


def _model_mix(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    mix: dict[str, dict[str, int]] = defaultdict(dict)
    if _has(conn, "token_usage"):
        for session, model, tokens in conn.execute(
                "SELECT session_id, coalesce(model, ''), sum(total_tokens) FROM token_usage"
                " GROUP BY 1, 2"):
            mix[session][model] = tokens
    return mix


_SESSION_COLS = ("session_id", "platform", "project_name", "models", "primary_model",
                 "started_at", "ended_at", "day", "duration_s", "active_s", "prompts",
                 "assistant_messages", "tool_calls", "tool_success", "tool_errors",
                 "tool_rejected", "tool_interrupted", "tool_pending", "edits_accepted",
                 "edits_rejected", "edits_user_modified", "lines_added", "lines_removed",
                 "input_tokens", "output_tokens", "cache_creation_tokens",
                 "cache_read_tokens", "cost_usd", "interrupts", "compactions", "subagents")


def _sessions(conn: sqlite3.Connection, policy: Policy, developer: str) -> dict[tuple, Row]:
    mix = _model_mix(conn)
    out = {}
    for r in conn.execute(f"SELECT {', '.join(_SESSION_COLS)} FROM sessions"):
        session_id, platform, project_name, models = r[0], r[1], r[2], r[3]
        models_used = mix.get(session_id) or {m: 0 for m in (models or "").split(",") if m}
        key = (policy.session(session_id),)
        out[key] = (*key, developer, platform, policy.project(project_name),
                    json.dumps(models_used, sort_keys=True), *r[4:])
    return out


def _usage(conn: sqlite3.Connection, policy: Policy, developer: str) -> dict[tuple, Row]:
    sums: dict[tuple, list] = {}
    sql = (f"SELECT t.ts_ms / {QUARTER_MS}, t.platform, coalesce(t.model, ''), s.project_name,"
           " t.project, min(t.ts_ms), max(t.ts_ms), count(*), sum(t.input_tokens),"
           " sum(t.output_tokens), sum(t.cache_creation_tokens), sum(t.cache_read_tokens),"
           " sum(t.cost_usd), max(t.cost_source = 'unknown_model' AND t.total_tokens > 0)"
           " FROM token_usage t LEFT JOIN sessions s ON s.session_id = t.session_id"
           " GROUP BY 1, 2, 3, 4, 5")
    has_sessions = _has(conn, "sessions")
    if not has_sessions:
        sql = sql.replace(" LEFT JOIN sessions s ON s.session_id = t.session_id", "").replace(
            "s.project_name", "NULL")
    for (quarter, platform, model, name, folder, first, last, n, inp, outp, cw, cr, cost,
         unpriced) in conn.execute(sql):
        key = (quarter * QUARTER_MS, platform, model, policy.project(name, folder))
        acc = sums.get(key)
        if acc is None:
            sums[key] = [first, last, n, inp, outp, cw, cr, cost, bool(unpriced)]
        else:  # two local projects with one label (an alias, or projects not shared)
            acc[0], acc[1] = min(acc[0], first), max(acc[1], last)
            for i, v in enumerate((n, inp, outp, cw, cr, cost), start=2):
                acc[i] += v
            acc[8] = acc[8] or bool(unpriced)
    return {k: (*k, developer, *v) for k, v in sums.items()}


def _tools(conn: sqlite3.Connection, policy: Policy, developer: str) -> dict[tuple, Row]:
    groups: dict[tuple, dict] = {}
    status_col = {"success": 2, "error": 3, "rejected": 4, "interrupted": 5, "pending": 6}
    for day, platform, tool, server, status, is_edit, added, removed, latency, err in (
            conn.execute("SELECT day, platform, tool_name, mcp_server, status, is_edit,"
                         " lines_added, lines_removed, latency_ms, error_class"
                         " FROM tool_calls")):
        key = (day, platform, policy.tool(tool, server))
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"c": [False, 0, 0, 0, 0, 0, 0, 0, 0], "lat": [], "err": {}}
        c = g["c"]
        c[0] = c[0] or bool(is_edit)
        c[1] += 1
        if status in status_col:
            c[status_col[status]] += 1
        c[7] += added or 0
        c[8] += removed or 0
        if latency is not None:
            g["lat"].append(float(latency))
        if err and _ERROR_CLASS.fullmatch(err):  # classifier names only, never text
            g["err"][err] = g["err"].get(err, 0) + 1
    return {k: (*k, developer, *g["c"], sorted(g["lat"]), json.dumps(g["err"], sort_keys=True))
            for k, g in groups.items()}


COLUMNS = {t.kind: tuple(n for n, _ in t.columns) for t in (SESSIONS, USAGE, TOOLS)}
