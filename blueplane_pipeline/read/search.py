"""Full-text search over sessions, ranked (SQLite FTS5, bm25).

The index is stored (``search_docs`` + ``search_fts``, migration 9) and kept current by
the analytics refresh (``analytics.search_index``): prompts, assistant text, tool calls
(name, file, command) and titles, as far as the privacy mode keeps them. :func:`find` is
what ``blueplane search`` runs; :func:`search` and :func:`similar` are what the MCP tools
use. A database whose stored index is not built yet (an older file opened read-only)
falls back to an in-memory index of its prompts and titles (:class:`TextIndex`).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from blueplane_pipeline.core.times import iso_ms
from blueplane_pipeline.read.connect import has_rows, require
from blueplane_pipeline.read.sql import Where

# Words that match nearly every prompt and would drown the ranking.
STOPWORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does",
    "for", "from", "has", "have", "how", "i", "in", "into", "is", "it", "its", "me", "my",
    "of", "on", "or", "our", "please", "so", "that", "the", "their", "then", "there", "these",
    "this", "to", "up", "us", "was", "we", "what", "when", "where", "which", "who", "why",
    "will", "with", "would", "you", "your",
])
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    session_id: str
    turn_index: int | None  # None: the match is the session's title
    text: str
    score: float  # bm25, higher is better (sign flipped from SQLite's)


def match_expression(text: str) -> str | None:
    """An FTS5 query OR-ing the meaningful words of ``text`` (each quoted: no syntax from
    user input reaches FTS5), or None when no word is left."""
    words = []
    for word in _WORD.findall(text.lower()):
        if len(word) > 1 and word not in STOPWORDS and word not in words:
            words.append(word)
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in words[:32])


_PHRASE = re.compile(r'"([^"]*)"')


def query_expression(text: str) -> str | None:
    """An FTS5 query for what a person typed: every word must occur, and text in double
    quotes must occur as that phrase. Nothing but quoted terms reaches FTS5."""
    terms = []
    for phrase in _PHRASE.findall(text):
        words = _WORD.findall(phrase.lower())
        if words:
            terms.append('"' + " ".join(words) + '"')
    for word in _WORD.findall(_PHRASE.sub(" ", text).lower()):
        if f'"{word}"' not in terms:
            terms.append(f'"{word}"')
    return " AND ".join(terms[:32]) or None


# What each privacy mode lets a search look at (strict: no prompt or assistant text, even
# if it was captured before the mode changed).
KINDS = {"strict": ("tool",), "standard": ("prompt", "assistant", "tool", "title"),
         "full": ("prompt", "assistant", "tool", "title")}


@dataclass(frozen=True)
class SearchHit:
    session_id: str
    turn_index: int | None
    kind: str  # prompt | assistant | tool | title
    tool_name: str | None
    ts: str
    project_name: str | None
    snippet: str
    score: float  # bm25, higher is better


def has_index(conn: sqlite3.Connection) -> bool:
    """Whether the stored index exists and holds anything."""
    return has_rows(conn, "search_docs")


def find(conn: sqlite3.Connection, text: str, *, project_paths: list[str] | None = None,
         since_ms: int | None = None, tool: str | None = None, session_id: str | None = None,
         privacy_mode: str = "standard", limit: int = 20, offset: int = 0,
         ) -> list[SearchHit]:
    """Ranked hits for ``text`` in the stored index (all words, "quoted phrases"), newest
    first among equal ranks, each with its session, turn, time and a snippet."""
    require(conn, "search_docs", "sessions")
    expr = query_expression(text)
    if expr is None:
        return []
    kinds = KINDS.get(privacy_mode, KINDS["standard"])
    where = Where()
    where.add(f"d.kind IN ({','.join('?' * len(kinds))})", *kinds)
    if since_ms is not None:
        where.add("d.ts_ms >= ?", since_ms)
    if tool:
        where.add("d.tool_name = ?", tool)
    if session_id:
        where.add("d.session_id = ?", session_id)
    if project_paths is not None:
        marks = ",".join("?" * len(project_paths)) or "NULL"
        where.add(f"d.session_id IN (SELECT session_id FROM sessions WHERE project_path IN"
                  f" ({marks}))", *project_paths)
    rows = conn.execute(
        "SELECT d.session_id, d.kind, d.tool_name, d.ts_ms,"
        " snippet(search_fts, 0, '«', '»', '…', 16), bm25(search_fts) AS rank"
        " FROM search_fts JOIN search_docs d ON d.doc_id = search_fts.rowid"
        f" WHERE search_fts MATCH ? AND {' AND '.join(where.parts)}"
        " ORDER BY rank, d.ts_ms DESC LIMIT ? OFFSET ?",
        (expr, *where.params, limit, offset)).fetchall()
    names = dict(conn.execute(
        "SELECT session_id, project_name FROM sessions WHERE session_id IN"
        f" ({','.join('?' * len(rows)) or 'NULL'})", [r[0] for r in rows]).fetchall())
    return [SearchHit(sid, turn_at(conn, sid, ts), kind, tool_name, iso_ms(ts),
                      names.get(sid), " ".join(snip.split()), round(-score, 4))
            for sid, kind, tool_name, ts, snip, score in rows]


def turn_at(conn: sqlite3.Connection, session_id: str, ts_ms: int) -> int | None:
    """The turn of ``session_id`` running at ``ts_ms`` (the last one started by then)."""
    row = conn.execute("SELECT max(turn_index) FROM turns WHERE session_id = ? AND"
                       " started_at <= ?", (session_id, iso_ms(ts_ms))).fetchone()
    if row[0] is not None:
        return row[0]
    first = conn.execute("SELECT min(turn_index) FROM turns WHERE session_id = ?",
                         (session_id,)).fetchone()
    return first[0]


class TextIndex:
    """An in-memory FTS5 index of one database's prompts and titles."""

    def __init__(self, rows: list[tuple[str, int | None, str]]) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(text, session_id UNINDEXED,"
                        " turn_index UNINDEXED, tokenize = 'porter unicode61')")
        self.db.executemany("INSERT INTO docs (session_id, turn_index, text) VALUES (?, ?, ?)",
                            rows)
        self.size = len(rows)

    def search(self, text: str, limit: int = 10) -> list[Hit]:
        expr = match_expression(text)
        if expr is None:
            return []
        rows = self.db.execute(
            "SELECT session_id, turn_index, text, bm25(docs) FROM docs WHERE docs MATCH ?"
            " ORDER BY bm25(docs) LIMIT ?", (expr, limit)).fetchall()
        return [Hit(sid, idx, body, round(-score, 4)) for sid, idx, body, score in rows]


def prompt_texts(conn: sqlite3.Connection) -> list[tuple[str, int | None, str]]:
    """(session_id, turn_index, text) of every stored prompt, and (session_id, None, title)
    of every session title: what the index holds."""
    require(conn, "turns", "sessions")
    rows = conn.execute(
        "SELECT session_id, turn_index, prompt_text FROM turns"
        " WHERE prompt_text IS NOT NULL AND prompt_text != ''").fetchall()
    rows += conn.execute(
        "SELECT session_id, NULL, title FROM sessions WHERE title IS NOT NULL AND title != ''"
    ).fetchall()
    return rows


def text_signature(conn: sqlite3.Connection) -> tuple:
    """Changes whenever the searchable text can have changed (the index's cache key)."""
    require(conn, "turns", "sessions")
    return (conn.execute("SELECT count(*), max(started_at), max(ended_at) FROM turns").fetchone()
            + conn.execute("SELECT count(*), max(ended_at) FROM sessions").fetchone())


_lock = threading.Lock()
_cache: dict[str, tuple[tuple, TextIndex]] = {}


def index_for(conn: sqlite3.Connection, db_path: Path | str) -> TextIndex:
    """The index of ``db_path``, rebuilt only when its prompts or titles changed."""
    signature = text_signature(conn)
    key = str(db_path)
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] == signature:
            return cached[1]
    index = TextIndex(prompt_texts(conn))
    with _lock:
        _cache[key] = (signature, index)
    return index


def search(conn: sqlite3.Connection, db_path: Path | str, text: str,
           limit: int = 10, kinds: tuple[str, ...] | None = None) -> list[Hit]:
    """Ranked hits for any meaningful word of ``text`` (OR): from the stored index when it
    is built (``kinds`` limits what is looked at), else from prompts and titles in memory."""
    if not has_index(conn):
        return index_for(conn, db_path).search(text, limit)
    expr = match_expression(text)
    if expr is None:
        return []
    kinds = kinds or KINDS["standard"]
    rows = conn.execute(
        "SELECT d.session_id, d.kind, d.ts_ms, search_fts.text, bm25(search_fts) AS rank"
        " FROM search_fts JOIN search_docs d ON d.doc_id = search_fts.rowid"
        f" WHERE search_fts MATCH ? AND d.kind IN ({','.join('?' * len(kinds))})"
        " ORDER BY rank LIMIT ?", (expr, *kinds, limit)).fetchall()
    return [Hit(sid, None if kind == "title" else turn_at(conn, sid, ts), body,
                round(-score, 4)) for sid, kind, ts, body, score in rows]


def similar(conn: sqlite3.Connection, db_path: Path | str, text: str,
            limit: int = 10) -> tuple[list[Hit], int]:
    """Past prompts and titles most like ``text``, and how many texts were looked at."""
    if not has_index(conn):
        index = index_for(conn, db_path)
        return index.search(text, limit), index.size
    size = conn.execute("SELECT count(*) FROM search_docs WHERE kind IN ('prompt', 'title')"
                        ).fetchone()[0]
    return search(conn, db_path, text, limit, kinds=("prompt", "title")), size
