"""The team store's tables in Postgres (schema ``blueplane``), and their migrations.

Published facts are keyed by ``(device_id, natural key)``: a laptop only ever writes its
own rows, and publishing the same fact twice updates it in place. Dagster's own storage
(runs, event log, schedules) lives beside it in the ``public`` schema of the same
database, so one Postgres holds the whole team side.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "blueplane"
# Every team process that may create tables takes this transaction lock first, so two
# laptops meeting an empty database at the same moment create it once.
MIGRATE_LOCK = 0x626C7565  # "blue"


@dataclass(frozen=True)
class FactTable:
    """One kind of published fact: its table, natural key and values (name, SQL type)."""

    kind: str
    table: str
    key: tuple[tuple[str, str], ...]
    values: tuple[tuple[str, str], ...]

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.table}"

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        return self.key + self.values

    def ddl(self) -> str:
        cols = [("device_id", "text NOT NULL")]
        cols += [(n, f"{t} NOT NULL") for n, t in self.key]
        cols += [(n, t) for n, t in self.values]
        cols += [("published_at", "timestamptz NOT NULL DEFAULT now()")]
        body = ",\n    ".join(f"{n} {t}" for n, t in cols)
        keys = ", ".join(["device_id", *(n for n, _ in self.key)])
        return f"CREATE TABLE {self.qualified} (\n    {body},\n    PRIMARY KEY ({keys})\n);"


_COUNTS = ("tool_calls", "tool_success", "tool_errors", "tool_rejected", "tool_interrupted",
           "tool_pending", "edits_accepted", "edits_rejected", "edits_user_modified",
           "lines_added", "lines_removed")
_TOKENS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")

SESSIONS = FactTable(
    "sessions", "session_facts",
    key=(("session_key", "text"),),
    values=(("developer", "text NOT NULL"), ("platform", "text NOT NULL"),
            ("project", "text NOT NULL"), ("models", "jsonb NOT NULL"),
            ("primary_model", "text NOT NULL"), ("started_at", "timestamptz NOT NULL"),
            ("ended_at", "timestamptz NOT NULL"), ("day", "date NOT NULL"),
            ("duration_s", "double precision NOT NULL"),
            ("active_s", "double precision NOT NULL"), ("prompts", "integer NOT NULL"),
            ("assistant_messages", "integer NOT NULL"),
            *((c, "integer NOT NULL") for c in _COUNTS),
            *((c, "bigint NOT NULL") for c in _TOKENS),
            ("cost_usd", "double precision NOT NULL"), ("interrupts", "integer NOT NULL"),
            ("compactions", "integer NOT NULL"), ("subagents", "integer NOT NULL")),
)
USAGE = FactTable(
    "usage", "usage_facts",
    key=(("quarter_start_ms", "bigint"), ("platform", "text"), ("model", "text"),
         ("project", "text")),
    values=(("developer", "text NOT NULL"), ("first_ms", "bigint NOT NULL"),
            ("last_ms", "bigint NOT NULL"), ("messages", "integer NOT NULL"),
            *((c, "bigint NOT NULL") for c in _TOKENS),
            ("cost_usd", "double precision NOT NULL"), ("unpriced", "boolean NOT NULL")),
)
TOOLS = FactTable(
    "tools", "tool_facts",
    key=(("day", "date"), ("platform", "text"), ("tool_name", "text")),
    values=(("developer", "text NOT NULL"), ("is_edit", "boolean NOT NULL"),
            ("calls", "integer NOT NULL"), ("success", "integer NOT NULL"),
            ("errors", "integer NOT NULL"), ("rejected", "integer NOT NULL"),
            ("interrupted", "integer NOT NULL"), ("pending", "integer NOT NULL"),
            ("lines_added", "integer NOT NULL"), ("lines_removed", "integer NOT NULL"),
            ("latencies_ms", "double precision[] NOT NULL"),
            ("error_classes", "jsonb NOT NULL")),
)
FACT_TABLES = (SESSIONS, USAGE, TOOLS)
BY_KIND = {t.kind: t for t in FACT_TABLES}

_V1 = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE {SCHEMA}.team_meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE {SCHEMA}.devices (
    device_id text PRIMARY KEY,
    developer text NOT NULL,
    share text NOT NULL,
    blueplane_version text NOT NULL,
    first_published_at timestamptz NOT NULL DEFAULT now(),
    last_published_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {SCHEMA}.publishes (
    id bigserial PRIMARY KEY,
    device_id text NOT NULL,
    developer text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    rows_upserted integer NOT NULL,
    rows_deleted integer NOT NULL
);
{SESSIONS.ddl()}
CREATE INDEX session_facts_by_start ON {SESSIONS.qualified} (started_at);
{USAGE.ddl()}
CREATE INDEX usage_facts_by_time ON {USAGE.qualified} (quarter_start_ms);
{TOOLS.ddl()}
CREATE INDEX tool_facts_by_day ON {TOOLS.qualified} (day);
-- One counter bumped by every batch of published facts, in the batch's transaction: a
-- rollup records the version it was built from, so its checks know whether the facts
-- moved on since (laptops publish while the team deployment runs).
CREATE TABLE {SCHEMA}.facts_version (
    id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL
);
INSERT INTO {SCHEMA}.facts_version VALUES (1, 0);
CREATE TABLE {SCHEMA}.rollup_builds (
    rollup text PRIMARY KEY, facts_version bigint NOT NULL, facts_totals jsonb NOT NULL,
    timezone text NOT NULL, built_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {SCHEMA}.team_usage_daily (
    day date NOT NULL, developer text NOT NULL, project text NOT NULL, model text NOT NULL,
    devices integer NOT NULL, messages bigint NOT NULL,
    input_tokens bigint NOT NULL, output_tokens bigint NOT NULL,
    cache_creation_tokens bigint NOT NULL, cache_read_tokens bigint NOT NULL,
    total_tokens bigint NOT NULL, cost_usd double precision NOT NULL,
    PRIMARY KEY (day, developer, project, model)
);
CREATE TABLE {SCHEMA}.team_activity_daily (
    day date NOT NULL, developer text NOT NULL, project text NOT NULL,
    sessions integer NOT NULL, prompts bigint NOT NULL, active_s double precision NOT NULL,
    tool_calls bigint NOT NULL, tool_errors bigint NOT NULL, tool_rejected bigint NOT NULL,
    tool_interrupted bigint NOT NULL, error_rate double precision,
    edits_accepted bigint NOT NULL, edits_rejected bigint NOT NULL,
    acceptance_rate double precision, lines_added bigint NOT NULL,
    lines_removed bigint NOT NULL, cost_usd double precision NOT NULL,
    PRIMARY KEY (day, developer, project)
);
CREATE TABLE {SCHEMA}.team_tool_daily (
    day date NOT NULL, tool_name text NOT NULL, developers integer NOT NULL,
    calls bigint NOT NULL, success bigint NOT NULL, errors bigint NOT NULL,
    rejected bigint NOT NULL, interrupted bigint NOT NULL, error_rate double precision,
    latency_p50_ms double precision, latency_p95_ms double precision,
    PRIMARY KEY (day, tool_name)
);
CREATE TABLE {SCHEMA}.team_outliers (
    outlier_id text PRIMARY KEY, kind text NOT NULL, subject text NOT NULL,
    day date, metric_value double precision NOT NULL,
    baseline_value double precision NOT NULL, detail text NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_V1,)
