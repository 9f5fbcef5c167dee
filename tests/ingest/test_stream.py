"""Stream helpers against the embedded Redis: group, state, failures, trim across groups."""

from __future__ import annotations

import pytest

from blueplane_pipeline.core import config
from blueplane_pipeline.ingest import stream


def add(r, n: int) -> list[bytes]:
    return [r.xadd(config.STREAM_KEY, {"e": f'{{"n": {i}}}'}) for i in range(n)]


def test_ensure_group_is_idempotent_and_starts_at_the_stream_head(redis_client):
    ids = add(redis_client, 3)  # sent before the group existed: still delivered
    stream.ensure_group(redis_client)
    stream.ensure_group(redis_client)
    assert [eid for eid, _ in stream.read_new(redis_client, 10)] == ids
    assert [eid for eid, _ in stream.read_pending(redis_client, 10)] == ids
    assert stream.read_new(redis_client, 10) == []


def test_state_reports_length_lag_pending_and_dead_letters(redis_client):
    assert stream.state(redis_client) == stream.StreamState(0, 0, 0, 0)
    ids = add(redis_client, 7)
    assert stream.state(redis_client).lag == 7  # no group yet: everything is lag
    stream.ensure_group(redis_client)
    stream.read_new(redis_client, 4)
    stream.ack(redis_client, ids[:1])
    stream.dead_letter_now(redis_client, {b"junk": "unreadable"})
    assert stream.state(redis_client) == stream.StreamState(length=7, lag=3, pending=3, dlq=1)


@pytest.mark.parametrize("scan", [3, 10_000])
def test_lag_is_exact_whether_delivered_entries_or_the_backlog_are_counted(redis_client,
                                                                          monkeypatch, scan):
    monkeypatch.setattr(stream, "LAG_SCAN", scan)
    ids = add(redis_client, 10)
    stream.ensure_group(redis_client)
    stream.read_new(redis_client, 7)
    stream.ack(redis_client, ids[:5])  # acknowledged, not trimmed yet
    assert stream.state(redis_client).lag == 3


def test_failures_are_counted_per_entry_and_cleared_by_ack(redis_client):
    ids = add(redis_client, 2)
    stream.ensure_group(redis_client)
    entries = dict(stream.read_new(redis_client, 2))
    failed = {ids[0]: "bad", ids[1]: "bad"}
    assert stream.record_failures(redis_client, failed, entries) == 0
    stream.ack(redis_client, ids[1:])  # a later delivery succeeded
    assert redis_client.hget(stream.FAILURES_KEY, ids[1]) is None
    assert stream.record_failures(redis_client, {ids[0]: "bad"}, entries) == 0
    assert stream.record_failures(redis_client, {ids[0]: "still bad"}, entries) == 1
    (_, fields), = redis_client.xrange(config.DLQ_KEY)
    assert fields[b"reason"] == b"still bad" and fields[b"stream_id"] == ids[0]
    assert stream.state(redis_client).pending == 0


def test_trim_waits_for_every_group(redis_client):
    ids = add(redis_client, 6)
    stream.ensure_group(redis_client)
    redis_client.xgroup_create(config.STREAM_KEY, "analytics", id="0")
    stream.read_new(redis_client, 6)
    stream.ack(redis_client, ids)
    assert stream.trim_acknowledged(redis_client) == 0  # "analytics" has read nothing yet
    redis_client.xreadgroup("analytics", "a", {config.STREAM_KEY: ">"}, count=4)
    redis_client.xack(config.STREAM_KEY, "analytics", *ids[:2])
    assert stream.trim_acknowledged(redis_client) == 2  # up to analytics' oldest pending
    assert [eid for eid, _ in redis_client.xrange(config.STREAM_KEY)] == ids[2:]


def test_reclaim_moves_only_entries_idle_long_enough(redis_client):
    add(redis_client, 3)
    stream.ensure_group(redis_client)
    redis_client.xreadgroup(config.GROUP, "other", {config.STREAM_KEY: ">"}, count=3)
    assert stream.reclaim_stale(redis_client, min_idle_ms=60_000) == 0
    assert stream.reclaim_stale(redis_client, min_idle_ms=0) == 3
    assert len(stream.read_pending(redis_client, 10)) == 3


def test_a_pending_entry_deleted_from_the_stream_is_acknowledged(redis_client):
    ids = add(redis_client, 3)
    stream.ensure_group(redis_client)
    stream.read_new(redis_client, 3)
    redis_client.xdel(config.STREAM_KEY, ids[1])
    pending = stream.read_pending(redis_client, 10)
    assert [eid for eid, _ in pending] == [ids[0], ids[2]]
    assert stream.state(redis_client).pending == 2  # the deleted one no longer blocks trims


def test_a_batch_of_only_deleted_pending_entries_does_not_end_the_pending_read(redis_client):
    ids = add(redis_client, 5)
    stream.ensure_group(redis_client)
    stream.read_new(redis_client, 5)
    redis_client.xdel(config.STREAM_KEY, *ids[:3])
    assert [eid for eid, _ in stream.read_pending(redis_client, 3)] == ids[3:]
    assert stream.state(redis_client).pending == 2
