"""Writing raw events: normalise envelopes into columns, compress bodies in blocks.

Layout (see ``migrations``): ``raw_events`` holds one small row per event (16-byte id,
time, kind, session, where its body sits); ``raw_event_blocks`` holds the bodies, zstd
compressed a block at a time; ``session_spans`` says which seq range of which block holds
a session's events (one row per session and block, not per event). ``event_id`` is
unique, so delivering an event twice stores it once.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from dataclasses import dataclass

import orjson

from blueplane_pipeline.core.envelope import content_id
from blueplane_pipeline.core.times import parse_ts_ms, utc_now
from blueplane_pipeline.storage.codec import CODEC, DICT_TRAIN_SAMPLES, Codec, train_dict

# Envelope keys kept as columns rather than in the compressed body.
COLUMN_KEYS = ("event_id", "platform", "source", "event_type", "session_id")
BLOCK_MAX_EVENTS = 1000
BLOCK_MAX_BYTES = 2 * 1024 * 1024
# A last block with fewer events than this is extended by the next write.
REOPEN_BELOW = 250
REOPEN_BELOW_BYTES = 256 * 1024


class InvalidEvent(ValueError):
    """An entry that cannot be read as an envelope (goes to the dead-letter queue)."""


@dataclass(slots=True)
class NormalEvent:
    event_id: bytes
    ts_ms: int
    platform: str
    source: str
    event_type: str
    session_id: str | None
    body: bytes
    raw_size: int
    # secrets the privacy filter redacted in this event, per rule (the envelope's
    # ``redactions``; ``core.redaction``)
    redactions: dict[str, int] | None = None


def event_id_bytes(value: object, raw: bytes) -> bytes:
    if isinstance(value, str):
        if len(value) == 36 and value[8] == value[13] == value[18] == value[23] == "-":
            try:  # the canonical form every source writes; 4x faster than uuid.UUID
                key = bytes.fromhex(value.replace("-", ""))
            except ValueError:
                key = b""
            if len(key) == 16:  # fromhex skips spaces: "… a1a5  de" would give 15 bytes
                return key
        try:
            return uuid.UUID(value).bytes
        except ValueError:
            return uuid.uuid5(uuid.NAMESPACE_OID, value).bytes
    return uuid.UUID(content_id(raw)).bytes


def normalise(raw: bytes) -> NormalEvent:
    """Envelope bytes -> columns + body. Raises ``InvalidEvent`` for non-envelopes."""
    try:
        env = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(env, dict):
        raise InvalidEvent("envelope is not a JSON object")
    platform, source = env.get("platform"), env.get("source")
    if not isinstance(platform, str) or not isinstance(source, str):
        raise InvalidEvent("envelope lacks platform/source")
    ts_ms = parse_ts_ms(env.get("ts")) or parse_ts_ms(env.get("captured_at"))
    if ts_ms is None:
        ts_ms = int(time.time() * 1000)
        env.setdefault("captured_at", utc_now())
    event_id, session_id, event_type = (
        env.pop("event_id", None), env.pop("session_id", None), env.pop("event_type", None))
    del env["platform"], env["source"]  # what is left is the body (COLUMN_KEYS are columns)
    redactions = env.get("redactions")  # stays in the body too: the event's own record
    body = _encode_body(env)
    return NormalEvent(
        event_id=event_id_bytes(event_id, raw),
        ts_ms=ts_ms,
        platform=platform,
        source=source,
        event_type=str(event_type or "unknown"),
        session_id=str(session_id) if session_id not in (None, "") else None,
        body=body,
        raw_size=len(raw),
        redactions=_redaction_counts(redactions) if redactions else None,
    )


def _redaction_counts(value: object) -> dict[str, int] | None:
    """The envelope's ``{rule: count}``, with anything else in it ignored."""
    if not isinstance(value, dict):
        return None
    out = {k[:64]: v for k, v in value.items()
           if isinstance(k, str) and type(v) is int and 0 < v < 1 << 31}
    return out or None


def _utc_day(ts_ms: int) -> str:
    try:
        return time.strftime("%Y-%m-%d", time.gmtime(ts_ms / 1000))
    except (OverflowError, OSError, ValueError):
        return "unknown"


def _encode_body(body: dict) -> bytes:
    """orjson, or the standard library for what orjson refuses (over 255 nesting levels):
    a deeply nested payload is valid input, not a reason to stop ingest."""
    try:
        return orjson.dumps(body)
    except TypeError:
        try:
            return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        except (RecursionError, ValueError) as exc:
            raise InvalidEvent(f"cannot store the payload: {type(exc).__name__}") from None


# (block_id, dict_id, n_events, raw_bytes, decompressed bodies, compressed length)
Tail = tuple[int, int | None, int, int, list[bytes], int]


@dataclass
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0
    first_seq: int | None = None
    last_seq: int | None = None


class RawEventWriter:
    """The single writer of ``raw_events``. Not thread-safe; one per process.

    Each block holds a contiguous run of ``seq``. A small last block (a trickle of events
    from a sensor tick) is reopened and extended by the next write rather than left small:
    on the fixture sessions a 10-event block compresses ~7x, 250 events ~13x.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.codec = Codec()
        self._kinds: dict[tuple[str, str, str], int] = {
            (p, s, t): k for k, p, s, t in conn.execute(
                "SELECT kind, platform, source, event_type FROM event_kinds")
        }
        self._sessions: dict[str, int] = {}
        self.dict_id: int | None = None
        for dict_id, data in conn.execute("SELECT dict_id, data FROM codec_dicts ORDER BY dict_id"):
            self.dict_id = dict_id
            self.codec.add_dict(dict_id, data)
        self._count = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]

    def write(self, events: list[NormalEvent]) -> WriteResult:
        """Store ``events`` in one transaction; duplicates (by ``event_id``) are skipped."""
        result = WriteResult()
        if not events:
            return result
        if self.dict_id is None and self._count >= DICT_TRAIN_SAMPLES:
            self._train_dict()
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Under the write lock: another ingest process (a sensor run and a manual
            # `blueplane ingest`) may have stored some of these a moment ago.
            fresh = self._drop_known(events)
            result.duplicates = len(events) - len(fresh)
            if not fresh:
                conn.execute("COMMIT")
                return result
            seq_next = (conn.execute("SELECT max(seq) FROM raw_events").fetchone()[0] or 0) + 1
            result.first_seq = seq_next
            rows: list[tuple] = []
            spans: dict[tuple[int, int], list[int]] = {}
            for tail, block in self._blocks(fresh, seq_next):
                block_id, grown = self._store_block(tail, block)
                result.stored_bytes += grown
                start = len(tail[4]) if tail else 0
                for pos, (seq, ev) in enumerate(block, start):
                    session = self._session(ev.session_id)
                    rows.append((seq, ev.event_id, ev.ts_ms, self._kind(ev), session, block_id,
                                 pos, ev.raw_size))
                    result.raw_bytes += ev.raw_size
                    if session is not None:
                        span = spans.setdefault((session, block_id), [seq, seq])
                        span[0], span[1] = min(span[0], seq), max(span[1], seq)
            rows.sort()
            conn.executemany("INSERT INTO raw_events VALUES (?,?,?,?,?,?,?,?)", rows)
            self._count_redactions(fresh)
            conn.executemany(
                "INSERT INTO session_spans (session, block_id, first_seq, last_seq)"
                " VALUES (?,?,?,?) ON CONFLICT (session, block_id) DO UPDATE SET"
                " first_seq = min(first_seq, excluded.first_seq),"
                " last_seq = max(last_seq, excluded.last_seq)",
                [(s, b, lo, hi) for (s, b), (lo, hi) in spans.items()])
            conn.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, I/O error) may already have rolled back: then
            # ROLLBACK itself fails and would hide the real error.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._kinds.clear()  # ids handed out inside the rolled-back transaction are void
            self._sessions.clear()
            raise
        result.stored = len(fresh)
        result.last_seq = seq_next + len(fresh) - 1
        self._count += len(fresh)
        return result

    def _count_redactions(self, events: list[NormalEvent]) -> None:
        """Sum the events' redaction counts into ``redaction_counts`` (same transaction)."""
        totals: dict[tuple[str, str, str], int] = {}
        for ev in events:
            if ev.redactions:
                day = _utc_day(ev.ts_ms)
                for rule, n in ev.redactions.items():
                    key = (day, ev.platform, rule)
                    totals[key] = totals.get(key, 0) + n
        if totals:
            self.conn.executemany(
                "INSERT INTO redaction_counts (day, platform, rule, count) VALUES (?,?,?,?)"
                " ON CONFLICT (day, platform, rule) DO UPDATE SET count = count + excluded.count",
                [(*key, n) for key, n in totals.items()])

    def _drop_known(self, events: list[NormalEvent]) -> list[NormalEvent]:
        unique: dict[bytes, NormalEvent] = {}
        for ev in events:
            unique.setdefault(ev.event_id, ev)
        ids = list(unique)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for (known,) in self.conn.execute(
                f"SELECT event_id FROM raw_events WHERE event_id IN ({marks})", chunk
            ):
                unique.pop(known, None)
        return list(unique.values())

    def _open_tail(self) -> Tail | None:
        """The last block, if it is small enough to be extended."""
        row = self.conn.execute(
            "SELECT block_id, dict_id, n_events, raw_bytes, data FROM raw_event_blocks"
            " ORDER BY block_id DESC LIMIT 1").fetchone()
        if row is None or row[2] >= REOPEN_BELOW or row[3] >= REOPEN_BELOW_BYTES:
            return None
        block_id, dict_id, n, raw, data = row
        self._ensure_dict(dict_id)
        return (block_id, dict_id, n, raw, self.codec.decompress(data, dict_id), len(data))

    def _blocks(self, events: list[NormalEvent], seq_next: int):
        """Yield ``(tail, [(seq, event)])``: the first chunk may extend the open tail block.

        Inside a chunk, events are grouped by session and kind (compresses better); their
        ``seq`` stays the arrival order.
        """
        tail = self._open_tail()
        room, size = BLOCK_MAX_EVENTS, 0
        if tail is not None:
            room, size = BLOCK_MAX_EVENTS - tail[2], sum(len(b) for b in tail[4])
        block: list[tuple[int, NormalEvent]] = []
        for seq, ev in enumerate(events, seq_next):
            block.append((seq, ev))
            size += len(ev.body)
            if len(block) >= room or size >= BLOCK_MAX_BYTES:
                yield tail, self._grouped(block)
                tail, block, room, size = None, [], BLOCK_MAX_EVENTS, 0
        if block:
            yield tail, self._grouped(block)

    @staticmethod
    def _grouped(block: list[tuple[int, NormalEvent]]) -> list[tuple[int, NormalEvent]]:
        return sorted(block, key=lambda item: (item[1].session_id or "", item[1].event_type))

    def _store_block(self, tail: Tail | None, block: list[tuple[int, NormalEvent]]
                     ) -> tuple[int, int]:
        """Insert a block, or rewrite the open tail with ``block`` appended.

        Returns the block id and how many stored bytes it added.
        """
        bodies = [ev.body for _, ev in block]
        raw = sum(ev.raw_size for _, ev in block)
        if tail is None:
            data = self.codec.compress(bodies, self.dict_id)
            cur = self.conn.execute(
                "INSERT INTO raw_event_blocks (codec, dict_id, n_events, raw_bytes, data)"
                " VALUES (?,?,?,?,?)", (CODEC, self.dict_id, len(block), raw, data))
            return cur.lastrowid, len(data)
        block_id, _old_dict, n, old_raw, old_bodies, old_len = tail
        data = self.codec.compress(old_bodies + bodies, self.dict_id)
        self.conn.execute(
            "UPDATE raw_event_blocks SET dict_id=?, n_events=?, raw_bytes=?, data=?"
            " WHERE block_id=?", (self.dict_id, n + len(block), old_raw + raw, data, block_id))
        return block_id, len(data) - old_len

    def _ensure_dict(self, dict_id: int | None) -> None:
        if not self.codec.has_dict(dict_id):
            (data,) = self.conn.execute(
                "SELECT data FROM codec_dicts WHERE dict_id=?", (dict_id,)).fetchone()
            self.codec.add_dict(dict_id, data)

    def _kind(self, ev: NormalEvent) -> int:
        key = (ev.platform, ev.source, ev.event_type)
        kind = self._kinds.get(key)
        if kind is None:
            self.conn.execute(
                "INSERT OR IGNORE INTO event_kinds (platform, source, event_type) VALUES (?,?,?)",
                key)
            kind = self.conn.execute(
                "SELECT kind FROM event_kinds WHERE platform=? AND source=? AND event_type=?",
                key).fetchone()[0]
            self._kinds[key] = kind
        return kind

    def _session(self, session_id: str | None) -> int | None:
        if session_id is None:
            return None
        key = self._sessions.get(session_id)
        if key is None:
            self.conn.execute("INSERT OR IGNORE INTO event_sessions (session_id) VALUES (?)",
                              (session_id,))
            key = self.conn.execute("SELECT session FROM event_sessions WHERE session_id=?",
                                    (session_id,)).fetchone()[0]
            self._sessions[session_id] = key
        return key

    def _train_dict(self) -> None:
        """Train a dictionary on the most recent stored bodies (the user's own data)."""
        from blueplane_pipeline.storage.reader import recent_bodies

        samples = recent_bodies(self.conn, self.codec, DICT_TRAIN_SAMPLES)
        try:
            data = train_dict(samples)
        except Exception:  # noqa: BLE001 - too little or too uniform data: try again later
            self._count = 0
            return
        cur = self.conn.execute(
            "INSERT INTO codec_dicts (created_at, samples, data) VALUES (?,?,?)",
            (utc_now(), len(samples), data))
        self.dict_id = cur.lastrowid
        self.codec.add_dict(self.dict_id, data)
