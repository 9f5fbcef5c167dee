"""Full-text search over prompts and session titles, ranked (SQLite FTS5, bm25).

Readers never write ``telemetry.db``, so the index is built read-side, in memory, from
:func:`prompt_texts` and kept until the searchable text changes (:func:`text_signature`).
Building it is a single pass (~tens of ms per 10k prompts).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from blueplane_pipeline.read.connect import require

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
           limit: int = 10) -> list[Hit]:
    return index_for(conn, db_path).search(text, limit)
