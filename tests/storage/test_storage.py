"""Raw event storage on real SQLite: round trip, idempotence, dictionary, readers vs writer."""

from __future__ import annotations

import sqlite3
import threading
import uuid

import orjson
import pytest

from blueplane_pipeline.core.envelope import dumps, make_envelope
from blueplane_pipeline.storage import codec, raw_events
from blueplane_pipeline.storage.db import connect, open_db
from blueplane_pipeline.storage.raw_events import InvalidEvent, RawEventWriter, normalise
from blueplane_pipeline.storage.reader import get_event, iter_events, storage_totals
from tests._events import hook_envelopes, lines


@pytest.fixture
def db(tmp_path):
    return tmp_path / "telemetry.db"


def store(db, envs: list[dict], batch: int = 100) -> list:
    conn = open_db(db)
    writer = RawEventWriter(conn)
    results = []
    data = lines(envs)
    for i in range(0, len(data), batch):
        results.append(writer.write([normalise(x) for x in data[i : i + batch]]))
    conn.close()
    return results


def test_real_hook_payloads_read_back_equal_by_id_by_session_and_in_order(db):
    envs = hook_envelopes()
    assert len(envs) > 40  # the real fixtures, not a toy list
    store(db, envs, batch=7)
    conn = connect(db, readonly=True)

    stored = list(iter_events(conn))
    assert [e.envelope for e in stored] == envs
    assert [e.seq for e in stored] == list(range(1, len(envs) + 1))
    for env in envs:
        assert get_event(conn, env["event_id"]) == env

    sessions = {env["session_id"] for env in envs} - {None}
    assert len(sessions) > 1
    for sid in sessions:
        expected = [env for env in envs if env["session_id"] == sid]
        assert [e.envelope for e in iter_events(conn, session_id=sid)] == expected

    middle = stored[len(stored) // 2].seq
    assert [e.seq for e in iter_events(conn, since_seq=middle, limit=3)] == [
        middle + 1, middle + 2, middle + 3]
    tools = list(iter_events(conn, event_types=["PreToolUse"]))
    assert tools and all(e.envelope["event_type"] == "PreToolUse" for e in tools)
    assert get_event(conn, "00000000-0000-0000-0000-000000000000") is None
    assert get_event(conn, "not-a-uuid") is None


def test_unknown_fields_and_non_uuid_ids_are_kept(db):
    env = make_envelope("cursor", "hook", "afterFileEdit", {"new_thing": [1, {"x": None}]},
                        session_id="conv-1", event_id="cursor:row:42")
    env["future_field"] = {"kept": True}
    store(db, [env])
    conn = connect(db, readonly=True)
    (got,) = [e.envelope for e in iter_events(conn)]
    assert got["future_field"] == {"kept": True}
    assert got["payload"] == {"new_thing": [1, {"x": None}]}
    # A non-uuid id becomes a stable uuid; the same id stores nothing twice.
    assert store(db, [env])[0].duplicates == 1


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"event_type": "x"}', "platform/source"),
])
def test_normalise_rejects_non_envelopes(raw, reason):
    with pytest.raises(InvalidEvent, match=reason):
        normalise(raw)


def test_rewriting_the_same_events_stores_nothing_twice(db):
    envs = hook_envelopes()
    first = store(db, envs)
    again = store(db, envs + envs[:5], batch=1000)  # duplicates inside one batch too
    assert sum(r.stored for r in first) == len(envs)
    assert again[0].stored == 0 and again[0].duplicates == len(envs) + 5
    conn = connect(db, readonly=True)
    assert storage_totals(conn)["events"] == len(envs)


def test_dictionary_is_trained_after_enough_events_and_old_blocks_stay_readable(db, monkeypatch):
    monkeypatch.setattr(raw_events, "DICT_TRAIN_SAMPLES", 300)
    envs = hook_envelopes(copies=10)
    store(db, envs[:300])
    conn = connect(db, readonly=True)
    assert conn.execute("SELECT count(*) FROM codec_dicts").fetchone()[0] == 0
    store(db, envs[300:])  # a new writer: it sees 300 stored events and trains first

    (dicts,) = conn.execute("SELECT count(*) FROM codec_dicts").fetchone()
    assert dicts == 1
    by_dict = dict(conn.execute(
        "SELECT dict_id IS NOT NULL, count(*) FROM raw_event_blocks GROUP BY 1").fetchall())
    assert by_dict.get(0) and by_dict.get(1)  # blocks from before and after training
    fresh = connect(db, readonly=True)  # a reader that has never seen the dictionary
    assert [e.envelope for e in iter_events(fresh)] == envs
    assert get_event(fresh, envs[0]["event_id"]) == envs[0]
    assert get_event(fresh, envs[-1]["event_id"]) == envs[-1]


def test_dictionary_training_failure_is_retried_later(db, monkeypatch):
    monkeypatch.setattr(raw_events, "DICT_TRAIN_SAMPLES", 20)

    def too_few(samples):
        raise codec.zstd.ZstdError("cannot train dict")

    monkeypatch.setattr(raw_events, "train_dict", too_few)
    envs = hook_envelopes()
    store(db, envs)  # training fails: events are still stored, without a dictionary
    conn = connect(db, readonly=True)
    assert conn.execute("SELECT count(*) FROM codec_dicts").fetchone()[0] == 0
    assert [e.envelope for e in iter_events(conn)] == envs


def test_a_failed_write_rolls_back_and_the_writer_keeps_working(db, monkeypatch):
    envs = hook_envelopes()
    conn = open_db(db)
    writer = RawEventWriter(conn)
    writer.write([normalise(x) for x in lines(envs[:10])])

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    # Fails after the open tail block was already rewritten inside the transaction.
    with monkeypatch.context() as patched, pytest.raises(sqlite3.OperationalError):
        patched.setattr(writer, "_session", broken)
        writer.write([normalise(x) for x in lines(envs[10:20])])
    assert [e.envelope for e in iter_events(conn)] == envs[:10]
    result = writer.write([normalise(x) for x in lines(envs[10:])])
    assert result.stored == len(envs) - 10
    assert [e.envelope for e in iter_events(conn)] == envs


def test_readers_see_only_whole_batches_and_are_never_locked_while_a_writer_commits(db):
    envs = hook_envelopes(copies=12)
    batch = 51
    conn = open_db(db)
    writer = RawEventWriter(conn)
    done = threading.Event()
    errors: list[BaseException] = []

    def write_all() -> None:
        try:
            for i in range(0, len(envs), batch):
                writer.write([normalise(x) for x in lines(envs[i : i + batch])])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    reader = connect(db, readonly=True)
    seen: list[int] = []
    thread = threading.Thread(target=write_all)
    thread.start()
    while not done.is_set() or not seen:
        # Raises "database is locked" if readers were ever blocked by the writer.
        n = reader.execute("SELECT count(*) FROM raw_events").fetchone()[0]
        events = list(iter_events(reader, limit=n)) if n else []
        assert len(events) == n
        seen.append(n)
    thread.join()
    assert not errors
    assert all(n % batch == 0 for n in seen), "a reader saw part of a batch"
    assert seen == sorted(seen)
    assert storage_totals(reader)["events"] == len(envs)


def test_an_open_write_transaction_does_not_block_a_reader(db):
    envs = hook_envelopes()
    store(db, envs)
    writer = connect(db)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM raw_events")  # uncommitted
    reader = connect(db, readonly=True)
    assert [e.envelope for e in iter_events(reader)] == envs
    writer.execute("ROLLBACK")


def test_storage_totals_count_raw_and_compressed_bytes(db):
    envs = hook_envelopes(copies=4)
    store(db, envs, batch=1000)
    totals = storage_totals(connect(db, readonly=True))
    assert totals["events"] == len(envs)
    assert totals["raw_bytes"] == sum(len(x) for x in lines(envs))
    assert 0 < totals["stored_bytes"] < totals["raw_bytes"] / 3


def test_event_with_newlines_in_strings_survives_the_block_separator(db):
    env = make_envelope("claude_code", "hook", "UserPromptSubmit",
                        {"prompt": "line one\nline two\n\n{\"json\": true}"}, session_id="s")
    raw = dumps(env)
    assert b"\n" not in raw  # JSON escapes newlines: blocks can be newline-joined
    store(db, [env])
    assert get_event(connect(db, readonly=True), env["event_id"]) == orjson.loads(raw)


def test_a_trickle_of_small_writes_fills_one_block_instead_of_many(db, monkeypatch):
    monkeypatch.setattr(raw_events, "REOPEN_BELOW", 60)
    envs = hook_envelopes(copies=3)  # 153 events
    conn = open_db(db)
    writer = RawEventWriter(conn)
    for i in range(0, len(envs), 5):  # a sensor tick's worth each time
        writer.write([normalise(x) for x in lines(envs[i : i + 5])])
    blocks = conn.execute("SELECT n_events FROM raw_event_blocks ORDER BY block_id").fetchall()
    # Each block was extended until it reached 60 events, then a new one began.
    assert [n for (n,) in blocks] == [60, 60, 33]
    reader = connect(db, readonly=True)
    assert [e.envelope for e in iter_events(reader)] == envs
    for sid in {env["session_id"] for env in envs} - {None}:
        assert [e.envelope for e in iter_events(reader, session_id=sid)] == [
            env for env in envs if env["session_id"] == sid]
    totals = storage_totals(reader)
    assert totals["stored_bytes"] == sum(
        n for (n,) in reader.execute("SELECT length(data) FROM raw_event_blocks"))


def test_blocks_never_exceed_the_block_limit(db, monkeypatch):
    monkeypatch.setattr(raw_events, "BLOCK_MAX_EVENTS", 40)
    envs = hook_envelopes(copies=2)  # 102 events
    store(db, envs[:10])
    store(db, envs[10:], batch=1000)
    conn = connect(db, readonly=True)
    sizes = [n for (n,) in conn.execute("SELECT n_events FROM raw_event_blocks ORDER BY 1 DESC")]
    assert max(sizes) == 40 and sum(sizes) == len(envs)
    assert [e.envelope for e in iter_events(conn)] == envs


def test_duplicates_are_checked_under_the_write_lock(db, monkeypatch):
    """Two ingest processes may hold the same pending events: the second writer must wait
    for the first and then find them stored, not collide with it on event_id."""
    envs = hook_envelopes()
    events = [normalise(x) for x in lines(envs)]
    first, second = RawEventWriter(open_db(db)), RawEventWriter(connect(db))
    second.conn.execute("PRAGMA busy_timeout=50")
    real_drop = RawEventWriter._drop_known
    outcome: list[str] = []

    def other_process_writes_meanwhile(self, evs):
        fresh = real_drop(self, evs)
        if self is first and not outcome:
            try:
                second.write(events)
                outcome.append("second wrote while the first held its ids")
            except sqlite3.OperationalError as exc:
                outcome.append(str(exc))
        return fresh

    monkeypatch.setattr(RawEventWriter, "_drop_known", other_process_writes_meanwhile)
    assert first.write(events).stored == len(envs)
    assert outcome == ["database is locked"]
    again = second.write(events)
    assert (again.stored, again.duplicates) == (0, len(envs))
    assert [e.envelope for e in iter_events(connect(db, readonly=True))] == envs


@pytest.mark.parametrize("value", [
    "6f6d2a4e-3c55-4d7b-9a0e-b1e7a1a5c0de", "6F6D2A4E-3C55-4D7B-9A0E-B1E7A1A5C0DE",
    "{6f6d2a4e-3c55-4d7b-9a0e-b1e7a1a5c0de}", "6f6d2a4e3c554d7b9a0eb1e7a1a5c0de",
    "zzzzzzzz-3c55-4d7b-9a0e-b1e7a1a5c0de", "6f6d2a4e-3c55-4d7b-9a0e-b1e7a1a5  de",
    "cursor:row:42",
])
def test_event_ids_are_16_bytes_and_uuids_keep_their_value(value):
    key = raw_events.event_id_bytes(value, b"{}")
    assert len(key) == 16
    try:
        assert key == uuid.UUID(value).bytes
    except ValueError:  # not a uuid: a stable name-based one, same every time
        assert key == raw_events.event_id_bytes(value, b"other bytes") != uuid.UUID(int=0).bytes
