"""Versioned migrations: fresh to latest, re-run is a no-op, an older database upgrades."""

from __future__ import annotations

import sqlite3

from blueplane_pipeline.storage import migrations
from blueplane_pipeline.storage.codec import CODEC, Codec
from blueplane_pipeline.storage.db import connect, open_db
from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise
from blueplane_pipeline.storage.reader import get_event, iter_events, storage_totals
from tests._events import hook_envelopes, lines


def schema(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def migrate_to(conn: sqlite3.Connection, version: int) -> None:
    """Apply the released migrations up to ``version``, as an older release would have."""
    keep = migrations.MIGRATIONS
    try:
        migrations.MIGRATIONS = [m for m in keep if m[0] <= version]
        migrations.migrate(conn)
    finally:
        migrations.MIGRATIONS = keep


def test_numbers_increase():
    numbers = [n for n, _ in migrations.MIGRATIONS]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1


def test_fresh_db_reaches_latest_and_rerunning_is_a_no_op(tmp_path):
    db = tmp_path / "telemetry.db"
    conn = open_db(db)
    assert migrations.current_version(conn) == migrations.latest_version()
    before = schema(conn)
    assert migrations.migrate(conn) == migrations.latest_version()
    assert schema(conn) == before
    conn.close()
    conn = open_db(db)  # a second process opening the same file
    assert schema(conn) == before
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_migration_another_process_applied_meanwhile_is_not_applied_again(tmp_path,
                                                                            monkeypatch):
    db = tmp_path / "telemetry.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", [(1, "CREATE TABLE once (x)")])
    slow, fast = connect(db), connect(db)
    real = migrations.current_version
    reads: list[int] = []

    def version(conn: sqlite3.Connection) -> int:
        if conn is slow and not reads:  # ``slow`` read it before ``fast`` migrated
            reads.append(0)
            return 0
        return real(conn)

    monkeypatch.setattr(migrations, "current_version", version)
    assert migrations.migrate(fast) == 1
    assert migrations.migrate(slow) == 1  # re-checks under the write lock, skips
    assert reads == [0] and real(slow) == 1


def write_v1_layout(conn: sqlite3.Connection, envs: list[dict], per_block: int) -> None:
    """Store events the way release 1 did: its own block layout and by-session index."""
    codec, data = Codec(), lines(envs)
    events = [normalise(x) for x in data]
    sessions: dict[str, int] = {}
    for start in range(0, len(events), per_block):
        chunk = events[start : start + per_block]
        cur = conn.execute(
            "INSERT INTO raw_event_blocks (codec, dict_id, n_events, raw_bytes, data)"
            " VALUES (?,?,?,?,?)", (CODEC, None, len(chunk), sum(e.raw_size for e in chunk),
                                    codec.compress([e.body for e in chunk], None)))
        for pos, ev in enumerate(chunk):
            conn.execute("INSERT OR IGNORE INTO event_kinds (platform, source, event_type)"
                         " VALUES (?,?,?)", (ev.platform, ev.source, ev.event_type))
            kind = conn.execute(
                "SELECT kind FROM event_kinds WHERE platform=? AND source=? AND event_type=?",
                (ev.platform, ev.source, ev.event_type)).fetchone()[0]
            session = None
            if ev.session_id:
                conn.execute("INSERT OR IGNORE INTO event_sessions (session_id) VALUES (?)",
                             (ev.session_id,))
                session = sessions.setdefault(ev.session_id, conn.execute(
                    "SELECT session FROM event_sessions WHERE session_id=?",
                    (ev.session_id,)).fetchone()[0])
            conn.execute("INSERT INTO raw_events VALUES (?,?,?,?,?,?,?,?)",
                         (start + pos + 1, ev.event_id, ev.ts_ms, kind, session,
                          cur.lastrowid, pos, ev.raw_size))


def test_a_db_written_by_an_older_release_upgrades_and_stays_readable(tmp_path):
    db = tmp_path / "telemetry.db"
    conn = connect(db)
    migrate_to(conn, 4)
    envs = hook_envelopes(copies=3)
    write_v1_layout(conn, envs, per_block=40)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'raw_events_by_session'"
                        ).fetchone()[0] == 1
    conn.close()

    conn = open_db(db)  # what every process does on start
    assert migrations.current_version(conn) == migrations.latest_version()
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'raw_events_by_session'"
                        ).fetchone()[0] == 0
    assert [e.envelope for e in iter_events(conn)] == envs
    sid = envs[-1]["session_id"]
    assert [e.envelope for e in iter_events(conn, session_id=sid)] == [
        env for env in envs if env["session_id"] == sid]
    assert get_event(conn, envs[7]["event_id"]) == envs[7]

    # The current writer appends after the old rows (extending the old last block).
    more = hook_envelopes(copies=2, seed=1)
    RawEventWriter(conn).write([normalise(x) for x in lines(more)])
    assert [e.envelope for e in iter_events(conn)] == envs + more
    sid = more[0]["session_id"]
    assert [e.envelope for e in iter_events(conn, session_id=sid)] == [
        env for env in envs + more if env["session_id"] == sid]
    assert storage_totals(conn)["raw_bytes"] == sum(len(x) for x in lines(envs + more))
