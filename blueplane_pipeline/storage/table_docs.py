"""Descriptions of every stored table, for the readers (Datasette metadata, MCP schema).

Analytics tables are documented once, in ``storage.analytics_docs.TABLE_DOCS``; this module adds
the storage tables (raw events, import state, token usage) and says which tables are
internal. ``all_table_docs()`` is what readers use; a test checks that every table and
column of a freshly migrated database has a description here.
"""

from __future__ import annotations

from blueplane_pipeline.core import platforms
from blueplane_pipeline.storage.analytics_docs import TABLE_DOCS
from blueplane_pipeline.storage.otel_docs import OTEL_TABLE_DOCS
from blueplane_pipeline.storage.schema_search import FTS_SHADOW_COLUMNS

TIMES = "ISO-8601 UTC"
# The platforms an event can name, from the registry (``core.platforms``).
PLATFORMS = ", ".join(f"`{p.name}`" for p in platforms.all_platforms())

STORAGE_TABLE_DOCS: dict[str, dict] = {
    "redaction_counts": {
        "title": "Redactions",
        "description": (
            "How many secrets the privacy filter replaced with [REDACTED] before events were "
            "stored, per day, platform and rule (docs/security.md lists the rules). Counts "
            "only: what was redacted is stored nowhere. `blueplane status` sums them."
        ),
        "columns": {
            "day": "UTC day of the events the secrets were in (YYYY-MM-DD)",
            "platform": f"The platform that sent the events: {PLATFORMS}",
            "rule": "The redaction rule that matched (core/redaction.py), e.g. "
                    "aws-access-key-id, secret-assignment, card-number",
            "count": "Secrets that rule replaced",
        },
    },
    "raw_events": {
        "title": "Raw events",
        "description": (
            "Every captured event, one small row each; the JSON body sits compressed in "
            "raw_event_blocks. Decode one with the SQL function blueplane_event(seq), e.g. "
            "select seq, blueplane_event(seq) from raw_events order by seq desc limit 10."
        ),
        "columns": {
            "seq": "Arrival order (monotonic); blueplane_event(seq) returns the event's "
                   "envelope as JSON",
            "event_id": "The envelope's event_id as 16 bytes (storage is idempotent on it)",
            "ts_ms": "When the event happened, epoch milliseconds (UTC)",
            "kind": "Platform, source and event type (event_kinds.kind)",
            "session": "Session of the event (event_sessions.session); NULL if none",
            "block_id": "Compressed block holding the body (raw_event_blocks.block_id)",
            "block_pos": "Position of the body inside its block",
            "raw_size": "Size of the event's JSON as received, bytes (schema v1-v4 only)",
        },
    },
    "raw_events_view": {
        "title": "Raw events (readable)",
        "description": (
            "raw_events with its codes spelled out: event id, time, platform, source, event "
            "type and session id. Add blueplane_event(seq) to see a body."
        ),
        "columns": {
            "seq": "Arrival order; blueplane_event(seq) returns the envelope as JSON",
            "event_id_hex": "The envelope's event_id, hexadecimal",
            "ts": f"When the event happened ({TIMES}, millisecond precision)",
            "platform": f"The platform that sent the event: {PLATFORMS}",
            "source": "`hook`, `transcript`, `cursor_db`, `otlp` or `mcp`",
            "event_type": "Hook event name or transcript line type, as the source named it",
            "session_id": "Claude Code session id / Cursor conversation id",
            "block_id": "Compressed block holding the body",
            "block_pos": "Position of the body inside its block",
            "raw_size": "Size of the event's JSON as received, bytes (schema v1-v4 only)",
        },
    },
    "event_kinds": {
        "title": "Event kinds (internal)",
        "description": "Dictionary of (platform, source, event_type) codes used by raw_events.",
        "columns": {
            "kind": "Code stored in raw_events.kind",
            "platform": f"The platform that sent the event: {PLATFORMS}",
            "source": "`hook`, `transcript`, `cursor_db`, `otlp` or `mcp`",
            "event_type": "Hook event name or transcript line type",
        },
    },
    "event_sessions": {
        "title": "Event sessions (internal)",
        "description": "Dictionary of session ids used by raw_events.session.",
        "columns": {
            "session": "Code stored in raw_events.session",
            "session_id": "Claude Code session id / Cursor conversation id",
        },
    },
    "session_spans": {
        "title": "Session spans (internal)",
        "description": "Index of raw_events by session: the seq range of each session's events "
                       "in each block.",
        "columns": {
            "session": "Session code (event_sessions.session)",
            "block_id": "Block holding some of its events (raw_event_blocks.block_id)",
            "first_seq": "First seq of the session in that block",
            "last_seq": "Last seq of the session in that block",
        },
    },
    "codec_dicts": {
        "title": "Compression dictionaries (internal)",
        "description": "zstd dictionaries trained on this machine's own events; every block "
                       "names the one it was written with.",
        "columns": {
            "dict_id": "Dictionary id (raw_event_blocks.dict_id)",
            "created_at": f"When it was trained ({TIMES})",
            "samples": "Events it was trained on",
            "data": "The dictionary bytes",
        },
    },
    "raw_event_blocks": {
        "title": "Raw event blocks (internal)",
        "description": "Event bodies, zstd-compressed a block at a time (newline-joined JSON).",
        "columns": {
            "block_id": "Block id (raw_events.block_id)",
            "codec": "Compression codec (zstd)",
            "dict_id": "Dictionary used, NULL for none (codec_dicts.dict_id)",
            "n_events": "Events in the block",
            "raw_bytes": "Uncompressed size of the bodies, bytes",
            "data": "The compressed bodies",
        },
    },
    "ingest_runs": {
        "title": "Ingest runs",
        "description": "One row per ingest run (stream and spool -> raw_events): how much it "
                       "read and stored, how fast, and the stream lag it left.",
        "columns": {
            "run_id": "Run number",
            "started_at": f"Start ({TIMES})",
            "finished_at": f"End ({TIMES})",
            "trigger": "What started it: sensor, cli, demo, …",
            "events_read": "Entries read from the stream and the spool",
            "events_stored": "New events stored",
            "duplicates": "Events already stored (same event_id), skipped",
            "dead_lettered": "Entries moved to the dead-letter queue",
            "spool_files": "Spool files drained",
            "raw_bytes": "JSON bytes of the stored events",
            "stored_bytes": "Compressed bytes written",
            "seconds": "Wall time, seconds",
            "events_per_s": "events_read ÷ seconds",
            "batch_p50_ms": "Median write latency of one batch, ms",
            "batch_p95_ms": "95th percentile write latency of one batch, ms",
            "lag_after": "Stream entries not yet delivered when the run ended",
        },
    },
    "import_offsets": {
        "title": "Import offsets (internal)",
        "description": "How far each transcript file has been imported, so re-imports read "
                       "only new lines.",
        "columns": {
            "path": "File path",
            "source": "Importer (transcript, …)",
            "dev": "Device of the file when last read",
            "inode": "Inode of the file when last read",
            "size": "Size when last read, bytes",
            "mtime_ns": "Modification time when last read, ns",
            "byte_offset": "Bytes already imported",
            "lines": "Lines already imported",
            "head_hash": "Hash of the file's first bytes (detects a replaced file)",
            "updated_at": f"Last import ({TIMES})",
        },
    },
    "cursor_import_keys": {
        "title": "Cursor import keys (internal)",
        "description": "Content hash of each Cursor state.vscdb item already imported.",
        "columns": {
            "db_path": "The state.vscdb file",
            "item_key": "Key inside ItemTable / cursorDiskKV",
            "content_hash": "Hash of the value when imported",
            "updated_at": f"Last import ({TIMES})",
        },
    },
    "token_usage": {
        "title": "Token usage",
        "description": (
            "One row per deduplicated model response, from every assistant's history "
            "(Claude Code transcripts, Codex rollouts, Gemini CLI sessions; ccusage's rules: "
            "one entry per message id + request id, or per response), with its cost. "
            "Input excludes cached input (a cache read) on every platform."
        ),
        "columns": {
            "id": "Row id",
            "dedup_key": "message id + request id: the deduplication key",
            "message_id": "Message id (Claude Code), thread + running total (Codex), "
                          "session + message id (Gemini CLI)",
            "request_id": "API request id (NULL on old lines)",
            "session_id": "Session the transcript file belongs to",
            "line_session_id": "sessionId written on the line (differs after resume/fork)",
            "project": "Project folder name under the Claude config projects/ dir (Gemini "
                       "CLI: under ~/.gemini/tmp; Codex: the rollout's path under "
                       "sessions/, ccusage's session id)",
            "model": "Model that answered",
            "price_model": "Price-list entry used for the cost",
            "ts": f"When the message was written ({TIMES}, millisecond precision)",
            "ts_ms": "Same, epoch milliseconds",
            "input_tokens": "Input tokens",
            "output_tokens": "Output tokens",
            "cache_creation_tokens": "Cache-write tokens (5-minute + 1-hour)",
            "cache_creation_5m_tokens": "Cache-write tokens, 5-minute cache",
            "cache_creation_1h_tokens": "Cache-write tokens, 1-hour cache",
            "cache_read_tokens": "Cache-read tokens",
            "total_tokens": "Sum of input, output, cache-write and cache-read tokens, plus "
                            "Gemini's thinking tokens (billed at the output price, not in "
                            "output_tokens)",
            "cost_usd": "Cost in USD: costUSD from the log when present, else computed",
            "cost_source": "`log`, `computed` or `unknown_model` (no price known: cost 0)",
            "log_cost_usd": "costUSD written in the log, if any",
            "is_sidechain": "1 for a subagent's message",
            "source_file": "Transcript file",
            "source_line": "Line number in that file",
            "raw_seq": "raw_events.seq of the line",
            "platform": f"the assistant that made the API call: {PLATFORMS}",
            "speed": "`fast` for a fast-mode request (billed at the model's fast multiplier; "
                     "reported as `<model>-fast`), else NULL",
            "reasoning_tokens": "Reasoning tokens, already inside output_tokens (Codex; not "
                                "billed again)",
        },
    },
    "token_usage_state": {
        "title": "Token usage state (internal)",
        "description": "Watermarks of the token_usage refresh.",
        "columns": {"name": "State key", "value": "Its value"},
    },
    "search_docs": {
        "title": "Search index entries",
        "description": (
            "One row per searchable piece of a session, as far as the privacy mode keeps it: "
            "a prompt, assistant text, a tool call (name, command, file) or a session title. "
            "Its text is in search_fts (same rowid); `blueplane search` queries both."
        ),
        "columns": {
            "doc_id": "Row id, equal to the search_fts rowid holding the text",
            "doc_key": "What the entry is (kind, session and the prompt key, tool_use_id or "
                       "event seq): the same prompt from the hook and the transcript is "
                       "indexed once",
            "session_id": "Session the text belongs to",
            "platform": f"The platform of the session: {PLATFORMS}",
            "kind": "`prompt`, `assistant`, `tool` or `title`",
            "ts_ms": "When it happened, epoch milliseconds (UTC)",
            "tool_name": "The tool, for `tool` entries",
            "raw_seq": "The raw event it came from (raw_events.seq)",
        },
    },
    "search_fts": {
        "title": "Search index (FTS5)",
        "description": "SQLite FTS5 full-text index over search_docs (rowid = doc_id).",
        "columns": {"text": "The indexed text"},
    },
    **{name: {"title": f"{name} (internal)",
              "description": "A table SQLite FTS5 keeps for search_fts.",
              "columns": {c: "FTS5 internal column" for c in cols}}
       for name, cols in FTS_SHADOW_COLUMNS.items()},
}

# Tables people do not need to browse: code dictionaries, compressed bytes, watermarks.
HIDDEN_TABLES = frozenset({
    "event_kinds", "event_sessions", "session_spans", "codec_dicts", "raw_event_blocks",
    "import_offsets", "cursor_import_keys", "token_usage_state", "analytics_state",
    "analytics_dirty_days", "sqlite_stat1", "sqlite_stat4", "otel_state",
    "search_fts", *FTS_SHADOW_COLUMNS,
})

ANALYTICS_TITLES = {
    "sessions": "Sessions",
    "tool_calls": "Tool calls",
    "turns": "Turns (conversation timeline)",
    "file_edits": "File edits",
    "metrics_daily": "Daily metrics",
    "tool_metrics": "Daily tool metrics",
    "insights": "Insights",
    "analytics_state": "Analytics state (internal)",
    "analytics_dirty_days": "Days to recompute (internal)",
}


def all_table_docs() -> dict[str, dict]:
    """``{table: {"title", "description", "columns": {column: description}}}`` for every
    table; analytics descriptions come from ``analytics.columns`` and win on a clash."""
    docs = {name: dict(doc) for name, doc in {**STORAGE_TABLE_DOCS, **OTEL_TABLE_DOCS}.items()}
    for name, doc in TABLE_DOCS.items():
        docs[name] = {"title": ANALYTICS_TITLES.get(name, name.replace("_", " ").capitalize()),
                      "description": doc["description"], "columns": dict(doc["columns"])}
    return docs

