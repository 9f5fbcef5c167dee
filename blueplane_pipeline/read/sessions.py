"""Sessions: the list (filters, paging), resolving an id a person typed, one in depth."""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Sequence

from blueplane_pipeline.read.connect import require
from blueplane_pipeline.read.filters import CALL_TIME, FAILED, NO_FILTERS, Filters, add_filters
from blueplane_pipeline.read.latency import NO_LATENCIES, grouped_latencies
from blueplane_pipeline.read.sql import Where, dict_rows, in_clause

SESSION_LIST_COLUMNS = (
    "session_id", "platform", "project_name", "started_at", "duration_s", "active_s",
    "prompts", "tool_calls", "tool_errors", "edits_accepted", "edits_rejected",
    "acceptance_rate", "lines_added", "lines_removed", "total_tokens", "cost_usd",
    "primary_model", "title",
)
_LIST_SELECT = ", ".join(
    "input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens"
    " AS total_tokens" if c == "total_tokens" else c for c in SESSION_LIST_COLUMNS)


def list_sessions(conn: sqlite3.Connection, filters: Filters = NO_FILTERS, *,
                  since: str | None = None, until: str | None = None,
                  min_acceptance: float | None = None, limit: int = 20, offset: int = 0,
                  ) -> tuple[list[dict], int]:
    """Sessions newest first, and how many match in all (for paging).

    ``since``/``until`` are ISO-8601 UTC bounds on ``started_at`` (``until`` exclusive).
    """
    require(conn, "sessions")
    where = add_filters(Where(), conn, filters)
    if since:
        where.add("started_at >= ?", since)
    if until:
        where.add("started_at < ?", until)
    if min_acceptance is not None:
        where.add("acceptance_rate >= ?", min_acceptance)
    total = conn.execute(f"SELECT count(*) FROM sessions{where.sql()}",
                         where.params).fetchone()[0]
    cur = conn.execute(
        f"SELECT {_LIST_SELECT} FROM sessions{where.sql()} ORDER BY started_at DESC,"
        " session_id LIMIT ? OFFSET ?", [*where.params, limit, offset])
    return [dict(zip(SESSION_LIST_COLUMNS, r, strict=True)) for r in cur], total


def sessions_by_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> list[dict]:
    """The ``list_sessions`` columns of the given sessions, in the order given."""
    require(conn, "sessions")
    if not ids:
        return []
    sql, params = in_clause("session_id", list(ids))
    found = {r[0]: dict(zip(SESSION_LIST_COLUMNS, r, strict=True))
             for r in conn.execute(f"SELECT {_LIST_SELECT} FROM sessions WHERE {sql}", params)}
    return [found[i] for i in ids if i in found]


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
    """Everything about one session: its row, turns (timeline), tools, files, failures."""
    require(conn, "sessions", "turns", "tool_calls", "file_edits")
    found = dict_rows(conn.execute("SELECT * FROM sessions WHERE session_id = ?",
                                   (session_id,)))
    if not found:
        return None
    turns = dict_rows(conn.execute(
        "SELECT turn_index, started_at, duration_s, active_s, model, prompt_chars,"
        " prompt_text, tool_calls, tool_errors, tool_rejected, tool_interrupted,"
        " edits_accepted, edits_rejected, lines_added, lines_removed, interrupted, timeline"
        " FROM turns WHERE session_id = ? ORDER BY turn_index", (session_id,)))
    pcts = grouped_latencies(conn, "tool_name", Where().add("session_id = ?", session_id))
    tools = dict_rows(conn.execute(
        "SELECT tool_name, count(*) AS calls, sum(status = 'success') AS success,"
        " sum(status = 'error') AS errors, sum(status = 'rejected') AS rejected,"
        " sum(status = 'interrupted') AS interrupted, sum(status = 'pending') AS pending,"
        " sum(latency_ms) AS total_latency_ms FROM tool_calls WHERE session_id = ?"
        " GROUP BY tool_name ORDER BY calls DESC, tool_name", (session_id,)))
    for t in tools:
        t.update(pcts.get(t["tool_name"]) or NO_LATENCIES)
    files = dict_rows(conn.execute(
        "SELECT file_path, file_ext, count(*) AS edits, sum(accepted = 1) AS accepted,"
        " sum(accepted = 0) AS rejected, sum(user_modified) AS user_modified,"
        " sum(lines_added) AS lines_added, sum(lines_removed) AS lines_removed,"
        " sum(reedited_within_5m) AS reedited_within_5m, min(ts) AS first_edit"
        " FROM file_edits WHERE session_id = ? GROUP BY file_path"
        " ORDER BY edits DESC, file_path", (session_id,)))
    errors = dict_rows(conn.execute(
        "SELECT started_at, tool_name, status, error_class, error_text FROM tool_calls"
        f" WHERE session_id = ? AND {FAILED}"
        f" ORDER BY {CALL_TIME}", (session_id,)))
    return {"session": found[0], "turns": turns, "tools": tools, "files": files,
            "errors": errors}


def call_rows(conn: sqlite3.Connection, session_id: str | None = None) -> list[dict]:
    """Tool calls in the order they started (of one session, or all): what each was, how it
    ended, how long it took, what it changed."""
    require(conn, "tool_calls")
    where = Where()
    if session_id is not None:
        where.add("session_id = ?", session_id)
    return dict_rows(conn.execute(
        "SELECT session_id, tool_name, status, latency_ms, error_class, lines_added,"
        f" lines_removed FROM tool_calls{where.sql()} ORDER BY {CALL_TIME}", where.params))


def session_count(conn: sqlite3.Connection) -> int:
    require(conn, "sessions")
    return conn.execute("SELECT count(*) FROM sessions").fetchone()[0]


def newest_session_end(conn: sqlite3.Connection) -> str | None:
    require(conn, "sessions")
    return conn.execute("SELECT max(ended_at) FROM sessions").fetchone()[0]

