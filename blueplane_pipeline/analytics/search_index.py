"""The full-text search index (``search_docs`` + ``search_fts``), kept current from raw events.

Incremental like the session refresh: only events after ``search.last_seq`` are read, and
each contributes what is searchable in it, as far as the privacy mode kept it when it was
captured and as the current mode allows: prompts and assistant text (not in ``strict``),
and tool calls (tool name, file path and, outside ``strict``, the command). Entries are
keyed (the prompt's key, the tool_use_id), so a prompt the hook and the transcript both
carry, or a call seen as PreToolUse and as a transcript ``tool_use``, is indexed once.
Session titles come from the ``sessions`` table and are replaced when they change.
Entering or leaving ``strict`` rebuilds the index under the new mode, so no prompt,
assistant text or command captured earlier stays searchable in ``strict``.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from blueplane_pipeline.analytics import state
from blueplane_pipeline.analytics.facts import extract
from blueplane_pipeline.storage.db import write_transaction
from blueplane_pipeline.storage.reader import iter_events, max_seq

BATCH_EVENTS = 5000  # events per write transaction (lets ingest interleave)
MAX_TEXT = 20_000  # characters of one entry that are indexed
TOOL_KINDS = ("pre", "tool_use")


@dataclass
class SearchIndexStats:
    events_read: int = 0
    docs_added: int = 0
    titles_changed: int = 0
    text_bytes: int = 0
    write_seconds: float = 0.0  # of ``seconds``: writing the entries (FTS5 tokenizing)
    last_seq: int = 0
    seconds: float = 0.0
    full_rebuild: bool = False


def refresh_search_index(
    conn: sqlite3.Connection, *, full: bool = False, privacy_mode: str = "standard"
) -> SearchIndexStats:
    """Index the events after the watermark (all of them with ``full``)."""
    t0 = time.perf_counter()
    strict = privacy_mode == "strict"
    # Entering or leaving strict changes what may be indexed: rebuild under the new mode.
    full = full or state.get(conn, "search.strict", int(strict)) != int(strict)
    stats = SearchIndexStats(full_rebuild=full)
    if full:
        with write_transaction(conn):
            conn.execute("DELETE FROM search_docs")
            conn.execute("DELETE FROM search_fts")
            state.put(conn, "search.last_seq", 0)
    with write_transaction(conn):
        state.put(conn, "search.strict", int(strict))
    since = state.get(conn, "search.last_seq")
    top = max_seq(conn)
    batch: list[tuple] = []
    for ev in iter_events(conn, since_seq=since, until_seq=top):
        stats.events_read += 1
        batch.extend(docs_of(ev.seq, ev.envelope, strict))
        if stats.events_read % BATCH_EVENTS == 0:
            _write(conn, batch, stats, ev.seq)
            batch = []
    _write(conn, batch, stats, top)
    stats.titles_changed = _refresh_titles(conn, strict, stats)
    stats.last_seq = top
    stats.seconds = round(time.perf_counter() - t0, 3)
    return stats


def docs_of(seq: int, envelope: dict, strict: bool) -> list[tuple]:
    """``(doc_key, session_id, platform, kind, ts_ms, tool_name, seq, text)`` of one event."""
    sid = envelope.get("session_id")
    if not sid:
        return []
    platform = str(envelope.get("platform") or "")
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    out: list[tuple] = []
    facts = extract(seq, envelope)
    ts = facts[0].ts
    for f in facts[1:]:
        if f.kind == "prompt" and not strict:
            text = f.data.get("text")
            if isinstance(text, str) and text.strip():
                out.append(
                    (
                        f"p:{sid}:{f.key or seq}",
                        sid,
                        platform,
                        "prompt",
                        f.ts,
                        None,
                        seq,
                        text[:MAX_TEXT],
                    )
                )
        elif f.kind in TOOL_KINDS and f.name:
            parts = [f.name]
            path = f.data.get("path")
            if isinstance(path, str) and path:
                parts.append(path)
            command = None if strict else _command(payload, f.key)
            if command:
                parts.append(command)
            out.append(
                (
                    f"t:{sid}:{f.key or seq}",
                    sid,
                    platform,
                    "tool",
                    f.ts,
                    f.name,
                    seq,
                    " ".join(parts)[:MAX_TEXT],
                )
            )
    if not strict and envelope.get("event_type") == "assistant":
        text = _assistant_text(payload)
        if text:
            out.append((f"a:{seq}", sid, platform, "assistant", ts, None, seq, text[:MAX_TEXT]))
    return out


def _assistant_text(payload: dict) -> str | None:
    """The text blocks of an assistant message (the facts keep only their start)."""
    message = payload.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if payload.get("isSidechain") is True or not isinstance(content, list):
        return None
    texts = [
        b["text"]
        for b in content
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]
    return "\n".join(texts) or None


def _command(payload: dict, tool_use_id: str | None) -> str | None:
    """The shell command of a tool call: a hook's ``tool_input``, a transcript ``tool_use``
    block's ``input`` or Cursor's ``command``, if the privacy filter kept it as text."""
    inputs = [payload.get("tool_input"), payload]
    message = payload.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    for block in content if isinstance(content, list) else []:
        if (
            isinstance(block, dict)
            and block.get("type") == "tool_use"
            and block.get("id") == tool_use_id
        ):
            inputs.append(block.get("input"))
    for inp in inputs:
        command = inp.get("command") if isinstance(inp, dict) else None
        if isinstance(command, str) and command:
            return command
    return None


def _write(
    conn: sqlite3.Connection, docs: list[tuple], stats: SearchIndexStats, watermark: int
) -> None:
    """Append the entries not indexed yet (by ``doc_key``) in one transaction, two
    ``executemany`` with ids assigned here (one statement per row was half the time)."""
    t0 = time.perf_counter()
    with write_transaction(conn):
        fresh: dict[str, tuple] = {}
        for doc in docs:
            fresh.setdefault(doc[0], doc)
        for chunk in state.chunks(list(fresh)):
            marks = ",".join("?" * len(chunk))
            for (key,) in conn.execute(
                f"SELECT doc_key FROM search_docs WHERE doc_key IN ({marks})", chunk
            ):
                del fresh[key]
        if fresh:
            top = conn.execute("SELECT coalesce(max(doc_id), 0) FROM search_docs").fetchone()[0]
            rows = [(top + i, *doc) for i, doc in enumerate(fresh.values(), 1)]
            conn.executemany(
                "INSERT INTO search_docs (doc_id, doc_key, session_id, platform, kind, ts_ms,"
                " tool_name, raw_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [r[:8] for r in rows],
            )
            conn.executemany(
                "INSERT INTO search_fts (rowid, text) VALUES (?, ?)", [(r[0], r[8]) for r in rows]
            )
            stats.docs_added += len(rows)
            stats.text_bytes += sum(len(r[8].encode("utf-8", "replace")) for r in rows)
        state.put(conn, "search.last_seq", watermark)
    stats.write_seconds += time.perf_counter() - t0


def _refresh_titles(conn: sqlite3.Connection, strict: bool, stats: SearchIndexStats) -> int:
    """Make the ``title`` entries equal the sessions' titles (none in ``strict``)."""
    wanted = (
        {}
        if strict
        else {
            f"s:{sid}": (sid, platform, title, started)
            for sid, platform, title, started in conn.execute(
                "SELECT session_id, platform, title, started_at FROM sessions"
                " WHERE title IS NOT NULL AND title != ''"
            )
        }
    )
    have = dict(
        conn.execute(
            "SELECT d.doc_key, f.text FROM search_docs d JOIN search_fts f ON f.rowid = d.doc_id"
            " WHERE d.kind = 'title'"
        ).fetchall()
    )
    stale = [k for k, text in have.items() if k not in wanted or wanted[k][2] != text]
    new = [k for k in wanted if have.get(k) != wanted[k][2]]
    if not stale and not new:
        return 0
    from blueplane_pipeline.core.times import parse_ts_ms

    with write_transaction(conn):
        for chunk in state.chunks(stale):
            marks = ",".join("?" * len(chunk))
            conn.execute(
                "DELETE FROM search_fts WHERE rowid IN (SELECT doc_id FROM search_docs"
                f" WHERE doc_key IN ({marks}))",
                chunk,
            )
            conn.execute(f"DELETE FROM search_docs WHERE doc_key IN ({marks})", chunk)
        for key in new:
            sid, platform, title, started = wanted[key]
            cur = conn.execute(
                "INSERT INTO search_docs (doc_key, session_id, platform, kind, ts_ms, tool_name,"
                " raw_seq) VALUES (?, ?, ?, 'title', ?, NULL, 0)",
                (key, sid, platform, parse_ts_ms(started) or 0),
            )
            conn.execute(
                "INSERT INTO search_fts (rowid, text) VALUES (?, ?)",
                (cur.lastrowid, title[:MAX_TEXT]),
            )
            stats.text_bytes += len(title.encode("utf-8", "replace"))
    return len(new) + len([k for k in stale if k not in wanted])
