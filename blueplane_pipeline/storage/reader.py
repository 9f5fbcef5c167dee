"""The one reader API over raw events, used by every asset, the CLI and the MCP server.

Events come back as the envelopes they arrived as, in ``seq`` order (arrival order).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from blueplane_pipeline.storage.codec import Codec

_SELECT = """
SELECT r.seq, r.event_id, r.block_id, r.block_pos, k.platform, k.source, k.event_type,
       s.session_id
FROM raw_events r
JOIN event_kinds k ON k.kind = r.kind
LEFT JOIN event_sessions s ON s.session = r.session
"""


_SESSION_SPANS = """FROM (SELECT sp0.* FROM session_spans sp0
      JOIN event_sessions s0 ON s0.session = sp0.session AND s0.session_id = ?) sp
JOIN raw_events r ON r.seq BETWEEN sp.first_seq AND sp.last_seq"""


@dataclass(slots=True)
class StoredEvent:
    seq: int
    envelope: dict

    @property
    def payload(self) -> object:
        return self.envelope.get("payload")


class BlockCache:
    """Decompressed blocks, a few at a time: neighbouring events share blocks."""

    def __init__(self, conn: sqlite3.Connection, codec: Codec | None = None, size: int = 8):
        self.conn = conn
        self.codec = codec or Codec()
        self.size = size
        self._blocks: dict[int, list[bytes]] = {}

    def body(self, block_id: int, pos: int) -> bytes:
        items = self._blocks.get(block_id)
        if items is None:
            data, dict_id = self.conn.execute(
                "SELECT data, dict_id FROM raw_event_blocks WHERE block_id=?", (block_id,)
            ).fetchone()
            if not self.codec.has_dict(dict_id):
                (dict_data,) = self.conn.execute(
                    "SELECT data FROM codec_dicts WHERE dict_id=?", (dict_id,)).fetchone()
                self.codec.add_dict(dict_id, dict_data)
            items = self.codec.decompress(data, dict_id)
            if len(self._blocks) >= self.size:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[block_id] = items
        return items[pos]


def envelope_from_row(row: tuple, body: bytes) -> dict:
    seq, event_id, _block, _pos, platform, source, event_type, session_id = row
    rest = orjson.loads(body)
    env = {"v": rest.pop("v", 1), "event_id": str(uuid.UUID(bytes=event_id)),
           "platform": platform, "source": source, "event_type": event_type,
           "session_id": session_id}
    env.update(rest)
    return env


def iter_events(
    conn: sqlite3.Connection,
    *,
    session_id: str | None = None,
    since_seq: int = 0,
    until_seq: int | None = None,
    platform: str | None = None,
    event_types: tuple[str, ...] | list[str] | None = None,
    limit: int | None = None,
) -> Iterator[StoredEvent]:
    """Yield stored events with ``seq > since_seq`` (and ``<= until_seq``), oldest first."""
    where, params = ["r.seq > ?"], [since_seq]
    if until_seq is not None:
        where.append("r.seq <= ?")
        params.append(until_seq)
    sql = _SELECT
    if session_id is not None:
        # Walk only the seq spans where the session has events (see ``session_spans``).
        sql = _SELECT.replace("FROM raw_events r", _SESSION_SPANS)
        where.append("r.session = sp.session")
        params.insert(0, session_id)
    _kind_filters(where, params, platform, event_types)
    sql += " WHERE " + " AND ".join(where) + " ORDER BY r.seq"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cache = BlockCache(conn)
    for row in conn.execute(sql, params).fetchall() if limit else _stream(conn, sql, params):
        yield StoredEvent(row[0], envelope_from_row(row, cache.body(row[2], row[3])))


def _kind_filters(where: list[str], params: list, platform: str | None,
                  event_types: tuple[str, ...] | list[str] | None) -> None:
    if platform is not None:
        where.append("k.platform = ?")
        params.append(platform)
    if event_types:
        where.append(f"k.event_type IN ({','.join('?' * len(event_types))})")
        params.extend(event_types)


def _stream(conn: sqlite3.Connection, sql: str, params: list) -> Iterator[tuple]:
    cur = conn.execute(sql, params)
    while rows := cur.fetchmany(2000):
        yield from rows


def get_event(conn: sqlite3.Connection, event_id: str) -> dict | None:
    """One event by its id, or ``None``."""
    try:
        key = uuid.UUID(event_id).bytes
    except ValueError:
        return None
    row = conn.execute(_SELECT + " WHERE r.event_id = ?", (key,)).fetchone()
    if row is None:
        return None
    return envelope_from_row(row, BlockCache(conn).body(row[2], row[3]))


def count_events(conn: sqlite3.Connection, *, platform: str | None = None,
                 event_types: tuple[str, ...] | list[str] | None = None) -> int:
    """How many stored events ``iter_events`` would yield with these filters from the start
    (0 before the first migration)."""
    where: list[str] = []
    params: list[object] = []
    _kind_filters(where, params, platform, event_types)
    sql = "SELECT count(*) FROM raw_events r JOIN event_kinds k ON k.kind = r.kind"
    if where:
        sql += " WHERE " + " AND ".join(where)
    try:
        return conn.execute(sql, params).fetchone()[0]
    except sqlite3.OperationalError:  # no raw_events table yet
        return 0


def max_seq(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(seq), 0) FROM raw_events").fetchone()[0]


def recent_bodies(conn: sqlite3.Connection, codec: Codec, n: int) -> list[bytes]:
    """Bodies of the latest ``n`` events (dictionary training samples)."""
    cache = BlockCache(conn, codec, size=4)
    rows = conn.execute(
        "SELECT block_id, block_pos FROM raw_events ORDER BY seq DESC LIMIT ?", (n,)).fetchall()
    return [cache.body(b, p) for b, p in rows]


def storage_totals(conn: sqlite3.Connection) -> dict:
    """Events stored, their raw JSON bytes and the bytes their blocks take."""
    events = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
    raw, stored = conn.execute(
        "SELECT coalesce(sum(raw_bytes), 0), coalesce(sum(length(data)), 0)"
        " FROM raw_event_blocks").fetchone()
    return {"events": events, "raw_bytes": raw, "stored_bytes": stored}


def redaction_totals(conn: sqlite3.Connection) -> dict[str, int]:
    """Secrets redacted before storage, per rule, most first (``redaction_counts``; empty
    for a database not yet migrated to it)."""
    from blueplane_pipeline.storage.db import has_table

    if not has_table(conn, "redaction_counts"):
        return {}
    return dict(conn.execute(
        "SELECT rule, sum(count) AS n FROM redaction_counts GROUP BY rule"
        " ORDER BY n DESC, rule").fetchall())
