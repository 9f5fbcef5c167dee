"""ingest(): the embedded Redis stream and the spool into real SQLite, crash-safe."""

from __future__ import annotations

import json
import time

import pytest

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest import stream
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.runtime import redis_server
from blueplane_pipeline.storage.db import connect
from blueplane_pipeline.storage.raw_events import RawEventWriter
from blueplane_pipeline.storage.reader import get_event, iter_events
from tests._events import hook_envelopes, lines


class Crash(RuntimeError):
    """The injected failure: the process dies between commit and ack."""


def xadd(r, data: list[bytes]) -> list[bytes]:
    pipe = r.pipeline(transaction=False)
    for line in data:
        pipe.xadd(config.STREAM_KEY, {"e": line})
    return pipe.execute()


def stored(db) -> list[dict]:
    return [e.envelope for e in iter_events(connect(db, readonly=True))]


def event_ids(db) -> list[str]:
    return [env["event_id"] for env in stored(db)]


def test_stream_events_are_stored_acked_and_trimmed(redis_client, redis_home):
    envs = hook_envelopes(copies=3)
    xadd(redis_client, lines(envs))
    seen = []
    stats = ingest(redis_home / "telemetry.db", batch_size=40, progress=seen.append)

    assert stats.redis_error is None
    assert (stats.events_read, stats.events_stored, stats.duplicates) == (len(envs), len(envs), 0)
    assert stats.lag_after == 0 and stats.trimmed == len(envs)
    assert stats.raw_bytes == sum(len(x) for x in lines(envs)) and stats.stored_bytes > 0
    assert len(seen) == -(-len(envs) // 40) and stats.first_seq == 1
    assert stats.last_seq == len(envs)
    assert stored(redis_home / "telemetry.db") == envs
    st = stream.state(redis_client)
    assert (st.length, st.lag, st.pending, st.dlq) == (0, 0, 0, 0)
    runs = connect(redis_home / "telemetry.db", readonly=True).execute(
        "SELECT events_stored, lag_after FROM ingest_runs").fetchall()
    assert runs == [(len(envs), 0)]


def test_the_same_events_xadded_again_are_stored_once(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    xadd(redis_client, lines(envs))
    ingest(db)
    xadd(redis_client, lines(envs))
    stats = ingest(db)
    assert (stats.events_read, stats.events_stored, stats.duplicates) == (len(envs), 0, len(envs))
    assert event_ids(db) == [env["event_id"] for env in envs]
    assert stream.state(redis_client).pending == 0


def test_the_same_spool_file_twice_is_stored_once(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    spool.write(config.spool_dir(), lines(envs))
    first = ingest(db)
    spool.write(config.spool_dir(), lines(envs))
    again = ingest(db)
    assert (first.spool_files, first.events_stored) == (1, len(envs))
    assert (again.spool_files, again.events_stored, again.duplicates) == (1, 0, len(envs))
    assert stored(db) == envs
    assert spool.pending_files(config.spool_dir()) == []


def test_a_consumer_killed_between_commit_and_ack_loses_and_duplicates_nothing(
        redis_client, redis_home):
    envs = hook_envelopes(copies=4)
    db = redis_home / "telemetry.db"
    xadd(redis_client, lines(envs))
    committed: list[list[bytes]] = []

    def die_after_second_commit(ids: list[bytes]) -> None:
        committed.append(ids)
        if len(committed) == 2:
            raise Crash("killed after commit, before ack")

    with pytest.raises(Crash):
        ingest(db, batch_size=50, after_commit=die_after_second_commit)
    # Two batches are in SQLite; the second is still pending in Redis (never acked), and
    # so is the third, which had been read ahead while the second was being stored.
    assert len(event_ids(db)) == 100
    assert stream.state(redis_client).pending == 100

    stats = ingest(db, batch_size=50)
    assert stats.duplicates == 50  # the committed-but-unacked batch, re-read and recognised
    assert stats.events_stored == len(envs) - 100
    assert event_ids(db) == [env["event_id"] for env in envs]
    st = stream.state(redis_client)
    assert (st.lag, st.pending, st.length) == (0, 0, 0)


def test_stale_entries_of_a_dead_consumer_are_reclaimed(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    xadd(redis_client, lines(envs))
    stream.ensure_group(redis_client)
    # Another consumer read 10 entries and died without acknowledging them.
    redis_client.xreadgroup(config.GROUP, "dead-consumer", {config.STREAM_KEY: ">"}, count=10)

    stats = ingest(db)  # default min-idle: the entries are not stale yet
    assert stats.events_stored == len(envs) - 10 and stats.reclaimed == 0
    assert stream.state(redis_client).pending == 10
    assert len(event_ids(db)) == len(envs) - 10

    time.sleep(0.01)
    stats = ingest(db, stale_ms=5)
    assert stats.events_stored == 10 and stats.reclaimed == 10
    assert sorted(event_ids(db)) == sorted(env["event_id"] for env in envs)
    st = stream.state(redis_client)
    assert (st.pending, st.lag, st.length) == (0, 0, 0)
    consumers = {c["name"]: c["pending"] for c in
                 redis_client.xinfo_consumers(config.STREAM_KEY, config.GROUP)}
    assert consumers.get(b"dead-consumer", consumers.get("dead-consumer")) == 0


def test_poison_entries_go_to_the_dlq_after_three_deliveries(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    good = lines(envs)
    poison = {
        b"{this is not json": "not JSON",
        b'["a", "list"]': "not a JSON object",
        b'{"hello": "world"}': "lacks platform/source",
    }
    mixed = good[:10] + list(poison)[:1] + good[10:30] + list(poison)[1:] + good[30:]
    xadd(redis_client, mixed)
    missing_e = redis_client.xadd(config.STREAM_KEY, {"x": b"no e field"})

    first = ingest(db, batch_size=8)
    assert first.events_stored == len(envs) and first.failed == 4 and first.dead_lettered == 0
    assert stream.state(redis_client).pending == 4
    second = ingest(db, batch_size=8)
    assert (second.failed, second.dead_lettered, second.events_stored) == (4, 0, 0)
    third = ingest(db, batch_size=8)
    assert third.dead_lettered == 4

    st = stream.state(redis_client)
    assert (st.pending, st.lag, st.dlq, st.length) == (0, 0, 4, 0)
    dead = redis_client.xrange(config.DLQ_KEY)
    reasons = {f.get(b"e", b"<none>"): f[b"reason"].decode() for _, f in dead}
    for raw, why in poison.items():
        assert why in reasons[raw]
    assert "no 'e' field" in reasons[b"<none>"]
    assert {f[b"stream_id"] for _, f in dead} >= {missing_e}
    assert all(f[b"deliveries"] == b"3" for _, f in dead)
    assert stored(db) == envs
    assert redis_client.hlen(stream.FAILURES_KEY) == 0


def test_redis_down_still_drains_the_spool_and_says_why(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    xadd(redis_client, lines(envs[:10]))  # queued in Redis before it went down
    redis_server.stop()
    spool.write(config.spool_dir(), lines(envs[10:30]))
    spool.write(config.spool_dir(), lines(envs[30:]))

    stats = ingest(db)
    assert stats.redis_error and "Redis unreachable" in stats.redis_error
    assert (stats.spool_files, stats.events_stored, stats.lag_after) == (2, len(envs) - 10, None)
    assert spool.pending_files(config.spool_dir()) == []

    redis_server.start()  # AOF brings back what was queued
    stats = ingest(db)
    assert stats.redis_error is None and stats.events_stored == 10
    assert sorted(event_ids(db)) == sorted(env["event_id"] for env in envs)


def test_spool_files_are_deleted_only_after_their_events_commit(redis_home, monkeypatch):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    redis_server.stop()
    path = spool.write(config.spool_dir(), lines(envs))

    def disk_full(self, events):
        raise OSError("database or disk is full")

    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(RawEventWriter, "write", disk_full)
        ingest(db)
    assert path.exists()  # nothing committed, so nothing deleted

    stats = ingest(db)
    assert stats.events_stored == len(envs) and not path.exists()
    assert get_event(connect(db, readonly=True), envs[0]["event_id"]) == envs[0]


def test_a_spool_file_with_bad_lines_waits_for_redis_then_goes_to_the_dlq(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    redis_server.stop()
    path = spool.write(config.spool_dir(), lines(envs[:5]) + [b"{truncated"])
    stats = ingest(db)
    assert stats.events_stored == 5 and path.exists()  # kept: the bad line has nowhere to go

    redis_server.start()
    stats = ingest(db)
    assert (stats.duplicates, stats.dead_lettered, stats.spool_files) == (5, 1, 1)
    assert not path.exists()
    (_, fields), = redis_client.xrange(config.DLQ_KEY)
    assert fields[b"e"] == b"{truncated" and path.name in fields[b"reason"].decode()


def test_trim_keeps_every_entry_a_consumer_has_not_acknowledged(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    xadd(redis_client, lines(envs[:10]))
    assert ingest(db).trimmed == 10
    xadd(redis_client, lines(envs[10:]))
    held = redis_client.xreadgroup(config.GROUP, "slow-consumer", {config.STREAM_KEY: ">"},
                                   count=5)[0][1]
    held_ids = [eid for eid, _ in held]

    stats = ingest(db)
    assert stats.events_stored == len(envs) - 15
    assert stats.trimmed == 0  # everything left sits at or above the oldest pending entry
    remaining = [eid for eid, _ in redis_client.xrange(config.STREAM_KEY)]
    assert remaining[:5] == held_ids and len(remaining) == len(envs) - 10
    pending = redis_client.xpending_range(config.STREAM_KEY, config.GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == held_ids

    time.sleep(0.01)
    stats = ingest(db, stale_ms=5)
    assert stats.events_stored == 5 and stats.trimmed == len(envs) - 10
    assert redis_client.xlen(config.STREAM_KEY) == 0


def test_hook_events_spooled_while_redis_is_down_arrive_after_ingest(redis_home):
    """The real hook process, Redis stopped: it exits 0, spools, and ingest stores it."""
    import subprocess
    import sys

    from tests.conftest import load_hook_payloads

    db = redis_home / "telemetry.db"
    redis_server.stop()
    payloads = [p for p in load_hook_payloads()
                if p.get("hook_event_name") in ("PreToolUse", "PostToolUse")
                and p.get("tool_use_id")][:3]
    assert len(payloads) == 3
    for payload in payloads:
        proc = subprocess.run(
            [sys.executable, "-m", "blueplane_pipeline.capture.hook", "claude-code"],
            input=json.dumps(payload).encode(), capture_output=True, timeout=30)
        assert proc.returncode == 0 and proc.stdout == b""
    assert len(spool.pending_files(config.spool_dir())) == 3

    stats = ingest(db)
    assert stats.redis_error and stats.events_stored == 3
    got = stored(db)
    assert [e["payload"]["tool_use_id"] for e in got] == [p["tool_use_id"] for p in payloads]
    assert {e["session_id"] for e in got} == {p["session_id"] for p in payloads}
    assert [e["event_type"] for e in got] == [p["hook_event_name"] for p in payloads]
    assert all(e["source"] == "hook" for e in got)
    assert spool.pending_files(config.spool_dir()) == []


def test_max_events_bounds_a_run_and_the_next_run_continues(redis_client, redis_home):
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    xadd(redis_client, lines(envs))
    first = ingest(db, batch_size=20, max_events=30)
    assert (first.events_read, first.events_stored) == (30, 30)
    st = stream.state(redis_client)
    assert (st.lag, st.pending) == (len(envs) - 30, 0)  # nothing read ahead beyond the cap
    rest = ingest(db, batch_size=20)
    assert rest.events_stored == len(envs) - 30 and rest.lag_after == 0
    assert event_ids(db) == [env["event_id"] for env in envs]


def test_one_event_spool_files_are_stored_together_and_deleted_after_commit(
        redis_home, monkeypatch):
    """While Redis is down the hook spools one file per event: ingest stores many files
    per write, and a failure leaves exactly the files whose events were not committed."""
    envs = hook_envelopes()
    db = redis_home / "telemetry.db"
    redis_server.stop()
    paths = [spool.write(config.spool_dir(), [line]) for line in lines(envs)]
    real_write, calls = RawEventWriter.write, []

    def fail_second_write(self, events):
        calls.append(len(events))
        if len(calls) == 2:
            raise OSError("database or disk is full")
        return real_write(self, events)

    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(RawEventWriter, "write", fail_second_write)
        ingest(db, batch_size=20)
    assert calls == [20, 20]
    committed = set(event_ids(db))
    assert len(committed) == 20
    by_file = {p: json.loads(p.read_bytes())["event_id"] if p.exists() else None for p in paths}
    left = {eid for eid in by_file.values() if eid is not None}
    assert len(left) == len(envs) - 20 and not left & committed  # kept = not committed

    stats = ingest(db, batch_size=20)
    assert (stats.events_stored, stats.spool_files) == (len(envs) - 20, len(envs) - 20)
    assert event_ids(db) == [env["event_id"] for env in envs]
    assert spool.pending_files(config.spool_dir()) == []


def test_redis_dying_mid_run_loses_and_duplicates_nothing(redis_client, redis_home):
    envs = hook_envelopes(copies=3)
    db = redis_home / "telemetry.db"
    xadd(redis_client, lines(envs))

    def redis_dies(ids: list[bytes]) -> None:
        redis_server.stop()  # after the first commit, before its ack

    stats = ingest(db, batch_size=40, after_commit=redis_dies)
    assert stats.redis_error and stats.events_stored == 40  # the spool is still drained

    redis_server.start()  # AOF: the stream, the group and its pending entries come back
    stats = ingest(db, batch_size=40)
    assert stats.redis_error is None
    assert stats.duplicates == 40 and stats.events_stored == len(envs) - 40
    assert event_ids(db) == [env["event_id"] for env in envs]
    st = stream.state(redis_client)
    assert (st.lag, st.pending, st.length) == (0, 0, 0)


def test_deeply_nested_payloads_neither_stop_ingest_nor_get_lost(redis_client, redis_home):
    """orjson refuses more than 255 nesting levels; such a payload is still valid input."""
    def envelope(depth: int) -> bytes:
        head = json.dumps({"v": 1, "event_id": f"00000000-0000-4000-8000-{depth:012d}",
                           "platform": "claude_code", "source": "hook",
                           "event_type": "PreToolUse", "session_id": "deep",
                           "ts": "2026-11-25T10:00:00Z"})
        return (head[:-1] + ', "payload": {"tool_input": ' + "[" * depth + "]" * depth
                + "}}").encode()

    ok = hook_envelopes()[:3]
    xadd(redis_client, [envelope(300), *lines(ok)])
    spool.write(config.spool_dir(), [envelope(400)])
    db = redis_home / "telemetry.db"
    stats = ingest(db)
    assert stats.events_stored == len(ok) + 2
    deep = get_event(connect(db, readonly=True), "00000000-0000-4000-8000-000000000300")
    assert deep is not None and json.dumps(deep["payload"]["tool_input"]).count("[") == 300

    # Deeper than any JSON parser here takes: dead-lettered after 3 deliveries, not a crash.
    xadd(redis_client, [envelope(3000)])
    for _ in range(3):
        ingest(db)
    st = stream.state(redis_client)
    assert (st.dlq, st.pending, st.lag) == (1, 0, 0)
