"""Tables decoded from OpenTelemetry exports (migration 10; ``sources/otel``).

Keys make every write idempotent: a log event is (session_id, event_key) where event_key is
the CLI's ``event.sequence`` (or a content hash when an exporter sends none); a metric point
is (metric, series, start_ns, time_ns). The same export stored twice, or a retried batch,
adds nothing. Columns added to the analytics tables hold what only OTel knows.
"""

# The columns migration 10 adds to metrics_daily: what OTel gives per day (None = no OTel
# data). The rollup fills them, the readers show them, the docs describe them.
OTEL_DAILY_COLUMNS = (
    "otel_api_requests",
    "otel_cost_usd",
    "otel_lines_added",
    "otel_lines_removed",
    "otel_active_user_s",
    "otel_active_cli_s",
    "user_decisions",
    "user_accepts",
    "user_acceptance_rate",
)

OTEL_V10 = """
CREATE TABLE IF NOT EXISTS otel_log_events (
    session_id TEXT NOT NULL,
    event_key TEXT NOT NULL,
    sequence INTEGER,
    event_name TEXT NOT NULL,
    ts TEXT,
    ts_ms INTEGER,
    prompt_id TEXT,
    platform TEXT NOT NULL,
    service TEXT,
    attributes TEXT NOT NULL,
    raw_seq INTEGER NOT NULL,
    PRIMARY KEY (session_id, event_key)
);
CREATE INDEX IF NOT EXISTS otel_log_events_by_name ON otel_log_events (event_name, ts_ms);
CREATE TABLE IF NOT EXISTS api_requests (
    session_id TEXT NOT NULL,
    event_key TEXT NOT NULL,
    sequence INTEGER,
    prompt_id TEXT,
    request_id TEXT,
    model TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    cache_creation_5m_tokens INTEGER,
    cache_creation_1h_tokens INTEGER,
    cost_usd REAL,
    duration_ms REAL,
    ttft_ms REAL,
    ts TEXT,
    ts_ms INTEGER,
    platform TEXT NOT NULL,
    PRIMARY KEY (session_id, event_key)
);
CREATE INDEX IF NOT EXISTS api_requests_by_request ON api_requests (request_id);
CREATE INDEX IF NOT EXISTS api_requests_by_time ON api_requests (ts_ms);
CREATE TABLE IF NOT EXISTS tool_decisions (
    session_id TEXT NOT NULL,
    event_key TEXT NOT NULL,
    sequence INTEGER,
    prompt_id TEXT,
    tool_use_id TEXT,
    tool_name TEXT,
    decision TEXT,
    source TEXT,
    user_decided INTEGER NOT NULL,
    ts TEXT,
    ts_ms INTEGER,
    platform TEXT NOT NULL,
    PRIMARY KEY (session_id, event_key)
);
CREATE INDEX IF NOT EXISTS tool_decisions_by_tool_use ON tool_decisions (tool_use_id);
CREATE TABLE IF NOT EXISTS otel_metric_points (
    metric TEXT NOT NULL,
    series TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    temporality INTEGER NOT NULL,
    value REAL NOT NULL,
    session_id TEXT,
    platform TEXT NOT NULL,
    attributes TEXT NOT NULL,
    raw_seq INTEGER NOT NULL,
    PRIMARY KEY (metric, series, start_ns, time_ns)
);
CREATE INDEX IF NOT EXISTS otel_metric_points_by_session ON otel_metric_points (session_id);
CREATE TABLE IF NOT EXISTS otel_session_daily (
    session_id TEXT NOT NULL,
    day TEXT NOT NULL,
    platform TEXT NOT NULL,
    lines_added INTEGER NOT NULL,
    lines_removed INTEGER NOT NULL,
    active_time_user_s REAL NOT NULL,
    active_time_cli_s REAL NOT NULL,
    edit_decisions INTEGER NOT NULL,
    edit_accepts INTEGER NOT NULL,
    edit_rejects INTEGER NOT NULL,
    metric_cost_usd REAL NOT NULL,
    metric_tokens INTEGER NOT NULL,
    sessions_started INTEGER NOT NULL,
    PRIMARY KEY (session_id, day)
);
CREATE TABLE IF NOT EXISTS otel_edit_decisions_daily (
    session_id TEXT NOT NULL,
    day TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    language TEXT NOT NULL,
    decision TEXT NOT NULL,
    source TEXT NOT NULL,
    decisions INTEGER NOT NULL,
    PRIMARY KEY (session_id, day, tool_name, language, decision, source)
);
CREATE TABLE IF NOT EXISTS otel_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
ALTER TABLE sessions ADD COLUMN otel_api_requests INTEGER;
ALTER TABLE sessions ADD COLUMN otel_input_tokens INTEGER;
ALTER TABLE sessions ADD COLUMN otel_output_tokens INTEGER;
ALTER TABLE sessions ADD COLUMN otel_cache_read_tokens INTEGER;
ALTER TABLE sessions ADD COLUMN otel_cache_creation_tokens INTEGER;
ALTER TABLE sessions ADD COLUMN otel_cost_usd REAL;
ALTER TABLE sessions ADD COLUMN otel_lines_added INTEGER;
ALTER TABLE sessions ADD COLUMN otel_lines_removed INTEGER;
ALTER TABLE sessions ADD COLUMN otel_active_user_s REAL;
ALTER TABLE sessions ADD COLUMN otel_active_cli_s REAL;
ALTER TABLE sessions ADD COLUMN user_decisions INTEGER;
ALTER TABLE sessions ADD COLUMN user_accepts INTEGER;
ALTER TABLE sessions ADD COLUMN user_acceptance_rate REAL;
ALTER TABLE tool_calls ADD COLUMN decision TEXT;
ALTER TABLE tool_calls ADD COLUMN decision_source TEXT;
ALTER TABLE tool_calls ADD COLUMN user_decided INTEGER;
ALTER TABLE metrics_daily ADD COLUMN otel_api_requests INTEGER;
ALTER TABLE metrics_daily ADD COLUMN otel_cost_usd REAL;
ALTER TABLE metrics_daily ADD COLUMN otel_lines_added INTEGER;
ALTER TABLE metrics_daily ADD COLUMN otel_lines_removed INTEGER;
ALTER TABLE metrics_daily ADD COLUMN otel_active_user_s REAL;
ALTER TABLE metrics_daily ADD COLUMN otel_active_cli_s REAL;
ALTER TABLE metrics_daily ADD COLUMN user_decisions INTEGER;
ALTER TABLE metrics_daily ADD COLUMN user_accepts INTEGER;
ALTER TABLE metrics_daily ADD COLUMN user_acceptance_rate REAL
"""
