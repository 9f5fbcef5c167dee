"""The full-text search index: migration 9. Standard library only.

``search_docs`` holds one row per searchable piece of a session (a prompt, a piece of
assistant text, a tool call's name, command and file, a session title), keyed so the same
prompt seen by the hook and in the transcript is indexed once; ``search_fts`` is the FTS5
index over its text (same rowid). The analytics refresh appends to both from raw events
after its own watermark (``analytics_state`` ``search.last_seq``).
"""

SEARCH_KINDS = ("prompt", "assistant", "tool", "title")

SEARCH_V9 = f"""
CREATE TABLE IF NOT EXISTS search_docs (
    doc_id INTEGER PRIMARY KEY,
    doc_key TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN {SEARCH_KINDS!r}),
    ts_ms INTEGER NOT NULL,
    tool_name TEXT,
    raw_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS search_docs_by_session ON search_docs (session_id, ts_ms);
CREATE INDEX IF NOT EXISTS search_docs_by_time ON search_docs (ts_ms);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
)
"""

# The tables FTS5 creates for ``search_fts`` (internal; described for the readers).
FTS_SHADOW_COLUMNS = {
    "search_fts_data": ("id", "block"),
    "search_fts_idx": ("segid", "term", "pgno"),
    "search_fts_content": ("id", "c0"),
    "search_fts_docsize": ("id", "sz"),
    "search_fts_config": ("k", "v"),
}
