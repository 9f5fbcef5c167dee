"""Migration 2: what the importers remember between runs (kept here, applied by
``storage.migrations``)."""

IMPORT_STATE_V2 = """
CREATE TABLE IF NOT EXISTS import_offsets (
    path TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    dev INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    head_hash TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursor_import_keys (
    db_path TEXT NOT NULL,
    item_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (db_path, item_key)
) WITHOUT ROWID;
"""
