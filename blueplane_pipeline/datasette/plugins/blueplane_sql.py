"""Datasette plugin: SQL functions over ``telemetry.db`` for people exploring it.

- ``blueplane_event(seq)``: the stored event as its JSON envelope (bodies are compressed in
  blocks, so raw rows are unreadable without it), e.g.
  ``select seq, json_extract(blueplane_event(seq), '$.payload.tool_name') from raw_events``.
- ``blueplane_percentile(value, q)``: exact percentile aggregate (q in 0-100, linear
  interpolation), the same definition the analytics tables use.

Loaded with ``datasette --plugins-dir`` (this folder), so it is active only in the
Datasette that ``blueplane serve``/``up`` start. Both functions only read.
"""

from __future__ import annotations

import sqlite3

from datasette import hookimpl

from blueplane_pipeline.analytics.metrics import percentile
from blueplane_pipeline.storage.reader import BlockCache, envelope_from_row

_BY_SEQ = """
SELECT r.seq, r.event_id, r.block_id, r.block_pos, k.platform, k.source, k.event_type,
       (SELECT session_id FROM event_sessions WHERE session = r.session)
FROM raw_events r JOIN event_kinds k ON k.kind = r.kind
WHERE r.seq = ?
"""


class EventDecoder:
    """Decodes events by seq on one connection, keeping a few decompressed blocks.

    The cache is dropped whenever another connection committed (``PRAGMA data_version``),
    so a purge that rewrites blocks can never serve stale bodies.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cache = BlockCache(conn)
        self.version: int | None = None

    def __call__(self, seq: object) -> str | None:
        if seq is None:
            return None
        try:
            key = int(seq)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return None
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self.version:
            self.cache = BlockCache(self.conn)
            self.version = version
        row = self.conn.execute(_BY_SEQ, (key,)).fetchone()
        if row is None:
            return None
        import orjson

        return orjson.dumps(envelope_from_row(row, self.cache.body(row[2], row[3]))).decode()


class PercentileAggregate:
    """``blueplane_percentile(value, q)``: NULL values are ignored; no values gives NULL."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.q: float | None = None

    def step(self, value: object, q: object) -> None:
        if self.q is None and q is not None:
            self.q = float(q)  # type: ignore[arg-type]
        if isinstance(value, int | float):
            self.values.append(float(value))

    def finalize(self) -> float | None:
        if self.q is None or not 0 <= self.q <= 100:
            return None
        return percentile(self.values, self.q)


def register(conn: sqlite3.Connection) -> None:
    """Add the functions to ``conn`` (also usable outside Datasette, e.g. in tests)."""
    conn.create_function("blueplane_event", 1, EventDecoder(conn))
    conn.create_aggregate("blueplane_percentile", 2, PercentileAggregate)


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: object) -> None:
    register(conn)
