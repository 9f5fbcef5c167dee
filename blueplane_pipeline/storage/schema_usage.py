"""The ``token_usage`` table and its refresh state: migration 3, and 6 (the platform of each
message, once assistants other than Claude Code report usage). Applied by
``storage.migrations``; standard library only, so migrating imports nothing heavy."""

COST_SOURCES = ("log", "computed", "unknown_model")

TOKEN_USAGE_V3 = f"""
CREATE TABLE IF NOT EXISTS token_usage (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    message_id TEXT,
    request_id TEXT,
    session_id TEXT NOT NULL,
    line_session_id TEXT,
    project TEXT NOT NULL,
    model TEXT,
    price_model TEXT,
    ts TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    cache_creation_5m_tokens INTEGER NOT NULL,
    cache_creation_1h_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    cost_source TEXT NOT NULL CHECK (cost_source IN {COST_SOURCES!r}),
    log_cost_usd REAL,
    is_sidechain INTEGER NOT NULL,
    source_file TEXT NOT NULL,
    source_line INTEGER NOT NULL,
    raw_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS token_usage_by_time ON token_usage (ts_ms);
CREATE INDEX IF NOT EXISTS token_usage_by_session ON token_usage (session_id, ts_ms);
CREATE TABLE IF NOT EXISTS token_usage_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

TOKEN_USAGE_V6 = """
ALTER TABLE token_usage ADD COLUMN platform TEXT NOT NULL DEFAULT 'claude_code';
CREATE INDEX IF NOT EXISTS token_usage_by_platform ON token_usage (platform, ts_ms);
"""

# Migration 8: a message's speed tier (``fast`` bills the model's fast multiplier) and its
# reasoning tokens (Codex and Gemini report them; they are inside ``output_tokens`` and
# never billed twice). The table is derived from ``raw_events``, so it is emptied here and
# rebuilt by the next refresh with the new columns filled and the new prices applied.
TOKEN_USAGE_V8 = """
ALTER TABLE token_usage ADD COLUMN speed TEXT;
ALTER TABLE token_usage ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
DELETE FROM token_usage;
DELETE FROM token_usage_state;
"""
