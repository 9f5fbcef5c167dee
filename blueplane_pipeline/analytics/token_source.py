"""Reading ``token_usage`` (owned by the import/usage part) without depending on its layout.

Tokens and cost are joined, never recomputed here: one row per deduplicated assistant
message lives in ``token_usage``. Its table may not exist yet (no transcripts imported), and
its column names are matched loosely, so the analytics keep working as it evolves.
"""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.storage.db import table_columns

TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


def token_rows_sql(conn: sqlite3.Connection) -> str | None:
    """A SELECT giving ``session_id, model, day, input_tokens, output_tokens,
    cache_creation_tokens, cache_read_tokens, cost_usd`` per token_usage row, or ``None``."""
    cols = set(table_columns(conn, "token_usage"))
    if "session_id" not in cols:
        return None

    def pick(*names: str) -> str | None:
        return next((n for n in names if n in cols), None)

    if "ts" in cols:
        day = "substr(ts, 1, 10)"
    elif "ts_ms" in cols:
        day = "strftime('%Y-%m-%d', ts_ms / 1000.0, 'unixepoch')"
    elif "day" in cols:
        day = "day"
    else:
        return None
    cache_write = pick("cache_creation_tokens", "cache_creation_input_tokens", "cache_write_tokens")
    if cache_write is None:
        parts = [c for c in sorted(cols) if c.startswith(("cache_creation", "cache_write"))
                 and c.endswith("tokens")]
        cache_write = " + ".join(f"coalesce({c}, 0)" for c in parts) or "0"
    exprs = {
        "input_tokens": pick("input_tokens") or "0",
        "output_tokens": pick("output_tokens") or "0",
        "cache_creation_tokens": cache_write,
        "cache_read_tokens": pick("cache_read_tokens", "cache_read_input_tokens") or "0",
        "cost_usd": pick("cost_usd", "cost") or "0",
    }
    model = pick("model") or "''"
    select = ", ".join(f"coalesce({expr}, 0) AS {name}" for name, expr in exprs.items())
    return (f"SELECT session_id, coalesce({model}, '') AS model, {day} AS day, {select} "
            "FROM token_usage WHERE session_id IS NOT NULL")
