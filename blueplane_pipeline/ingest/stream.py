"""The Redis stream side of ingest: consumer group reads, acks, reclaim, dead letters, trim."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from blueplane_pipeline.core import config

CONSUMER = "blueplane-ingest"
FAILURES_KEY = "blueplane:failures"
MAX_FAILURES = 3
STALE_MS = 60_000
LAG_SCAN = 10_000


def client(url: str | None = None, timeout: float = 5.0) -> redis.Redis:
    return redis.Redis.from_url(url or config.redis_url(), socket_timeout=timeout,
                                socket_connect_timeout=timeout)


def ensure_group(r: redis.Redis) -> None:
    """Create the consumer group from the stream's start (events sent before it exist too)."""
    try:
        r.xgroup_create(config.STREAM_KEY, config.GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


Entry = tuple[bytes, dict[bytes, bytes]]


def read_new(r: redis.Redis, count: int, block_ms: int | None = None) -> list[Entry]:
    """New entries for the group; with ``block_ms``, wait up to that long for the first."""
    return _entries(r.xreadgroup(config.GROUP, CONSUMER, {config.STREAM_KEY: ">"}, count=count,
                                 block=block_ms))


def read_pending(r: redis.Redis, count: int, after: bytes = b"0") -> list[Entry]:
    """Entries delivered to this consumer but never acknowledged (a run that died).

    An entry deleted from the stream while pending (XDEL, an outside MAXLEN trim) comes
    back without fields (XADD needs at least one, so empty means gone): there is nothing
    left to store, so it is acknowledged here — left pending, it would hold back trimming
    forever.
    """
    while True:
        reply = r.xreadgroup(config.GROUP, CONSUMER, {config.STREAM_KEY: after}, count=count)
        gone = [eid for eid, fields in (reply[0][1] if reply else []) if not fields]
        if gone:
            r.xack(config.STREAM_KEY, config.GROUP, *gone)
        entries = _entries(reply)
        if entries or not gone:  # a batch of deleted entries only: read on past them
            return entries


def _entries(reply: list) -> list[Entry]:
    if not reply:
        return []
    return [(eid, fields) for eid, fields in reply[0][1] if fields]


def reclaim_stale(r: redis.Redis, min_idle_ms: int = STALE_MS) -> int:
    """Move entries idle in other (dead) consumers to ours; return how many."""
    claimed, start = 0, "0-0"
    while True:
        reply = r.xautoclaim(config.STREAM_KEY, config.GROUP, CONSUMER, min_idle_ms,
                             start_id=start, count=1000)
        start, ids = reply[0], reply[1]
        claimed += len(ids)
        if start in (b"0-0", "0-0"):
            return claimed


def ack(r: redis.Redis, ids: list[bytes]) -> None:
    if ids:
        pipe = r.pipeline(transaction=False)
        pipe.xack(config.STREAM_KEY, config.GROUP, *ids)
        pipe.hdel(FAILURES_KEY, *ids)
        pipe.execute()


def record_failures(r: redis.Redis, failed: dict[bytes, str],
                    fields: dict[bytes, dict[bytes, bytes]]) -> int:
    """Count a failed delivery per entry; after ``MAX_FAILURES`` move it to the DLQ.

    Returns how many entries went to the dead-letter queue.
    """
    if not failed:
        return 0
    pipe = r.pipeline(transaction=False)
    for eid in failed:
        pipe.hincrby(FAILURES_KEY, eid, 1)
    counts = pipe.execute()
    dead = [eid for eid, n in zip(failed, counts, strict=True) if n >= MAX_FAILURES]
    if dead:
        pipe = r.pipeline(transaction=True)
        for eid in dead:
            pipe.xadd(config.DLQ_KEY, {**fields.get(eid, {}), b"stream_id": eid,
                                       b"reason": failed[eid], b"deliveries": str(MAX_FAILURES)})
        pipe.xack(config.STREAM_KEY, config.GROUP, *dead)
        pipe.hdel(FAILURES_KEY, *dead)
        pipe.execute()
    return len(dead)


def dead_letter_now(r: redis.Redis, entries: dict[bytes, str]) -> None:
    """Put non-stream items (unreadable spool lines) straight into the DLQ."""
    pipe = r.pipeline(transaction=False)
    for raw, reason in entries.items():
        pipe.xadd(config.DLQ_KEY, {b"e": raw, b"reason": reason, b"deliveries": b"0"})
    pipe.execute()


def drop_dead_letters_before(r: redis.Redis, cutoff_ms: int) -> int:
    """Delete dead-lettered entries queued before ``cutoff_ms`` (their id is the time they
    were dead-lettered, never before the event was captured); return how many."""
    return r.xtrim(config.DLQ_KEY, minid=f"{cutoff_ms}-0", approximate=False)


@dataclass
class StreamState:
    length: int
    lag: int
    pending: int
    dlq: int


def state(r: redis.Redis) -> StreamState:
    """Stream length, entries not yet delivered to the group (lag), unacked, dead letters."""
    pipe = r.pipeline(transaction=False)
    pipe.xlen(config.STREAM_KEY)
    pipe.xlen(config.DLQ_KEY)
    length, dlq = pipe.execute()
    lag = pending = 0
    if length:
        try:
            groups = r.xinfo_groups(config.STREAM_KEY)
        except redis.ResponseError:
            groups = []
        group = next((g for g in groups if _s(g.get("name")) == config.GROUP), None)
        if group is None:
            lag = length
        else:
            pending = int(group.get("pending") or 0)
            lag = _lag(r, group, length)
    return StreamState(length=length, lag=lag, pending=pending, dlq=dlq)


def _lag(r: redis.Redis, group: dict, length: int) -> int:
    """Entries after the group's last delivered id (Redis 6.2 has no ``lag`` field)."""
    if group.get("lag") is not None:
        return int(group["lag"])
    last = _s(group.get("last-delivered-id")) or "0-0"
    if last == "0-0":
        return length
    # XRANGE returns whole entries, and the backlog can be 100k of them (a transcript
    # import): count the delivered entries still in the stream instead — few, since
    # acknowledged ones are trimmed — and subtract. Measured: 0.2 s -> ~1 ms at 50k lag.
    delivered = r.xrange(config.STREAM_KEY, min="-", max=last, count=LAG_SCAN)
    if len(delivered) < LAG_SCAN:
        return length - len(delivered)
    # Trimming held back (an old pending entry): a bounded count of the backlog is enough
    # for the sensor's "is there lag, and roughly how much".
    major, minor = (int(x) for x in last.split("-"))
    after = f"{major}-{minor + 1}"
    return len(r.xrange(config.STREAM_KEY, min=after, max="+", count=LAG_SCAN))


def trim_acknowledged(r: redis.Redis) -> int:
    """Trim entries that every group has delivered and acknowledged; return how many."""
    try:
        groups = r.xinfo_groups(config.STREAM_KEY)
    except redis.ResponseError:
        return 0
    if not groups:
        return 0
    floor: tuple[int, int] | None = None
    for g in groups:
        candidates = [_s(g.get("last-delivered-id")) or "0-0"]
        if int(g.get("pending") or 0):
            summary = r.xpending(config.STREAM_KEY, _s(g["name"]))
            candidates.append(_s(summary["min"]))
        for cid in candidates:
            key = tuple(int(x) for x in cid.split("-"))
            floor = key if floor is None or key < floor else floor
    if floor is None or floor == (0, 0):
        return 0
    # MINID drops ids strictly below: keep the floor if it is still pending.
    minid = f"{floor[0]}-{floor[1]}"
    pending_any = any(int(g.get("pending") or 0) for g in groups)
    if not pending_any:
        minid = f"{floor[0]}-{floor[1] + 1}"
    return r.xtrim(config.STREAM_KEY, minid=minid, approximate=False)


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value) if value is not None else ""


def wait_for_lag(r: redis.Redis, timeout_ms: int) -> bool:
    """Block until the stream holds entries the group has not been delivered (or
    ``timeout_ms`` passes); True if it does. Costs nothing while the stream is quiet: one
    XREAD BLOCK from the group's last delivered id, so entries added before the call count
    too (a read from ``$`` would miss them)."""
    last = "0-0"
    try:
        groups = r.xinfo_groups(config.STREAM_KEY)
    except redis.ResponseError:  # no stream yet: XREAD BLOCK waits for its first entry
        groups = []
    group = next((g for g in groups if _s(g.get("name")) == config.GROUP), None)
    if group is not None:
        last = _s(group.get("last-delivered-id")) or "0-0"
    return bool(r.xread({config.STREAM_KEY: last}, count=1, block=timeout_ms))
