"""Schema of the analytics tables (migration 4). Columns are documented in
``blueplane_pipeline.storage.analytics_docs``; a test keeps the two identical."""

from __future__ import annotations

ANALYTICS_V4 = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    sources TEXT NOT NULL,
    project_path TEXT NOT NULL,
    project_name TEXT NOT NULL,
    git_branch TEXT,
    models TEXT NOT NULL,
    primary_model TEXT NOT NULL,
    title TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    day TEXT NOT NULL,
    duration_s REAL NOT NULL,
    active_s REAL NOT NULL,
    events INTEGER NOT NULL,
    prompts INTEGER NOT NULL,
    assistant_messages INTEGER NOT NULL,
    tool_calls INTEGER NOT NULL,
    tool_success INTEGER NOT NULL,
    tool_errors INTEGER NOT NULL,
    tool_rejected INTEGER NOT NULL,
    tool_interrupted INTEGER NOT NULL,
    tool_pending INTEGER NOT NULL,
    edits_accepted INTEGER NOT NULL,
    edits_rejected INTEGER NOT NULL,
    edits_user_modified INTEGER NOT NULL,
    acceptance_rate REAL,
    lines_added INTEGER NOT NULL,
    lines_removed INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    compactions INTEGER NOT NULL,
    subagents INTEGER NOT NULL,
    interrupts INTEGER NOT NULL,
    end_reason TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_day ON sessions (day);
CREATE INDEX IF NOT EXISTS sessions_by_project ON sessions (project_path, day);
CREATE TABLE IF NOT EXISTS tool_calls (
    tool_use_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    project_path TEXT NOT NULL,
    model TEXT NOT NULL,
    turn_index INTEGER,
    tool_name TEXT NOT NULL,
    mcp_server TEXT,
    is_edit INTEGER NOT NULL,
    is_sidechain INTEGER NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    day TEXT NOT NULL,
    latency_ms REAL,
    latency_source TEXT,
    status TEXT NOT NULL,
    error_class TEXT,
    error_text TEXT,
    file_path TEXT,
    file_ext TEXT,
    lines_added INTEGER NOT NULL,
    lines_removed INTEGER NOT NULL,
    user_modified INTEGER NOT NULL,
    permission_requested INTEGER NOT NULL,
    sources TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tool_calls_by_session ON tool_calls (session_id, started_at);
CREATE INDEX IF NOT EXISTS tool_calls_by_day ON tool_calls (day, tool_name);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL,
    turn_index INTEGER NOT NULL,
    platform TEXT NOT NULL,
    project_path TEXT NOT NULL,
    model TEXT NOT NULL,
    day TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    active_s REAL NOT NULL,
    prompt_text TEXT,
    prompt_chars INTEGER NOT NULL,
    prompt_source TEXT NOT NULL,
    assistant_messages INTEGER NOT NULL,
    tool_calls INTEGER NOT NULL,
    tool_errors INTEGER NOT NULL,
    tool_rejected INTEGER NOT NULL,
    tool_interrupted INTEGER NOT NULL,
    edits_accepted INTEGER NOT NULL,
    edits_rejected INTEGER NOT NULL,
    lines_added INTEGER NOT NULL,
    lines_removed INTEGER NOT NULL,
    interrupted INTEGER NOT NULL,
    timeline TEXT NOT NULL,
    PRIMARY KEY (session_id, turn_index)
);
CREATE INDEX IF NOT EXISTS turns_by_day ON turns (day);
CREATE TABLE IF NOT EXISTS file_edits (
    edit_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    project_path TEXT NOT NULL,
    model TEXT NOT NULL,
    ts TEXT NOT NULL,
    day TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    file_path TEXT,
    file_ext TEXT NOT NULL,
    is_create INTEGER NOT NULL,
    status TEXT NOT NULL,
    accepted INTEGER,
    user_modified INTEGER NOT NULL,
    lines_added INTEGER NOT NULL,
    lines_removed INTEGER NOT NULL,
    reedited_within_5m INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS file_edits_by_session ON file_edits (session_id, ts);
CREATE INDEX IF NOT EXISTS file_edits_by_day ON file_edits (day, file_ext);
CREATE TABLE IF NOT EXISTS metrics_daily (
    day TEXT NOT NULL,
    platform TEXT NOT NULL,
    project_path TEXT NOT NULL,
    project_name TEXT NOT NULL,
    model TEXT NOT NULL,
    sessions INTEGER NOT NULL,
    prompts INTEGER NOT NULL,
    active_s REAL NOT NULL,
    tool_calls INTEGER NOT NULL,
    tool_success INTEGER NOT NULL,
    tool_errors INTEGER NOT NULL,
    tool_rejected INTEGER NOT NULL,
    tool_interrupted INTEGER NOT NULL,
    tool_pending INTEGER NOT NULL,
    error_rate REAL,
    interruption_rate REAL,
    edits_accepted INTEGER NOT NULL,
    edits_rejected INTEGER NOT NULL,
    edits_user_modified INTEGER NOT NULL,
    acceptance_rate REAL,
    user_modified_share REAL,
    lines_added INTEGER NOT NULL,
    lines_removed INTEGER NOT NULL,
    latency_p50_ms REAL,
    latency_p95_ms REAL,
    latency_p99_ms REAL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    PRIMARY KEY (day, platform, project_path, model)
);
CREATE TABLE IF NOT EXISTS tool_metrics (
    day TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    mcp_server TEXT,
    sessions INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    success INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    interrupted INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    error_rate REAL,
    rejection_rate REAL,
    interruption_rate REAL,
    acceptance_rate REAL,
    lines_added INTEGER NOT NULL,
    lines_removed INTEGER NOT NULL,
    latency_p50_ms REAL,
    latency_p95_ms REAL,
    latency_p99_ms REAL,
    latency_max_ms REAL,
    PRIMARY KEY (day, tool_name)
);
CREATE TABLE IF NOT EXISTS insights (
    insight_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL,
    metric_value REAL,
    baseline_value REAL,
    evidence TEXT NOT NULL,
    query TEXT NOT NULL,
    window_start TEXT,
    window_end TEXT
);
CREATE TABLE IF NOT EXISTS analytics_state (
    name TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS analytics_dirty_days (
    day TEXT PRIMARY KEY
)
"""
