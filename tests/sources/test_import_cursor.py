"""Cursor ``state.vscdb`` import: real SQLite files shaped like Cursor's, real Redis, real
ingest. Expected counts come from the fixture builder's manifest."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueplane_pipeline.sources.cursor.store import is_wal, open_readonly, records_for_item
from blueplane_pipeline.sources.run import run_import
from blueplane_pipeline.storage.reader import iter_events
from tests import cursor_fixture


@pytest.fixture
def cursor_user(tmp_path) -> cursor_fixture.CursorFixture:
    return cursor_fixture.build(tmp_path / "Cursor" / "User")


def cursor_events(home: Path) -> list[dict]:
    conn = sqlite3.connect(home / "telemetry.db")
    try:
        return [e.envelope for e in iter_events(conn, platform="cursor")]
    finally:
        conn.close()


def test_fixture_uses_both_journal_modes(cursor_user):
    assert is_wal(cursor_user.global_db)
    assert not any(is_wal(p) for p in cursor_user.workspace_dbs)


def test_round_trip(redis_home, cursor_user):
    result = run_import("cursor", [cursor_user.root])
    expected = {k: v for k, v in cursor_user.expected.items() if v}
    assert dict(result.imported.event_types) == expected
    assert result.imported.databases_read == 3
    assert result.imported.invalid_items == expected["invalid_item"]
    events = cursor_events(redis_home)
    assert Counter(e["event_type"] for e in events) == Counter(expected)
    assert result.ingested.events_stored == sum(expected.values())
    assert all(e["source"] == "cursor_db" for e in events)
    # Only the keys we import were read: never the auth token beside them.
    assert cursor_fixture.SECRET_TOKEN not in json.dumps(events)
    bubbles = [e for e in events if e["event_type"] == "bubble"]
    assert {e["payload"]["_key"] for e in bubbles} == set(cursor_user.bubble_keys)
    assert {e["session_id"] for e in bubbles} == set(cursor_user.composer_ids)
    by_role = Counter(e["payload"]["_role"] for e in bubbles)
    assert by_role["user"] + by_role["assistant"] == len(bubbles) and by_role["user"]
    assistant = next(e for e in bubbles if e["payload"]["_role"] == "assistant")
    assert assistant["payload"]["tokenCount"]["outputTokens"] > 0
    assert assistant["payload"]["toolFormerData"]["name"] == "edit_file"
    assert assistant["ts"] == assistant["payload"]["createdAt"]
    # Standard privacy: file contents and editor state reduced to their size.
    composer = next(e for e in events if e["event_type"] == "composer_data")
    assert composer["payload"]["originalFileStates"]["redacted"] is True
    assert "code_edit" not in json.dumps(events)
    workspaces = {e["payload"].get("_workspace") for e in events
                  if e["event_type"] in ("prompt", "generation", "composer")}
    assert workspaces == {"file:///home/u/proj0", "file:///home/u/proj1"}


def test_rerun_reads_nothing(redis_home, cursor_user):
    run_import("cursor", [cursor_user.root])
    again = run_import("cursor", [cursor_user.root])
    assert again.imported.databases_unchanged == 3
    assert again.imported.events == 0 and again.ingested.events_stored == 0


def test_changed_bubble_is_detected_and_only_it_is_sent(redis_home, cursor_user):
    run_import("cursor", [cursor_user.root])
    before = len(cursor_events(redis_home))
    key = cursor_user.bubble_keys[1]
    cursor_fixture.update_bubble(cursor_user, key, "I updated module 1; all 12 tests pass.")
    result = run_import("cursor", [cursor_user.root])
    assert result.imported.databases_read == 1  # the workspace databases did not change
    assert result.imported.events == 1 and result.imported.changed_items == 1
    assert result.imported.unchanged_items > 0
    assert result.ingested.events_stored == 1
    versions = [e for e in cursor_events(redis_home) if e["payload"].get("_key") == key]
    assert len(versions) == 2  # both versions kept, distinct ids
    assert len(cursor_events(redis_home)) == before + 1


def test_lost_state_stores_nothing_twice(redis_home, cursor_user):
    first = run_import("cursor", [cursor_user.root])
    conn = sqlite3.connect(redis_home / "telemetry.db")
    conn.execute("DELETE FROM cursor_import_keys")
    conn.execute("DELETE FROM import_offsets")
    conn.commit()
    conn.close()
    again = run_import("cursor", [cursor_user.root])
    assert again.imported.events == first.imported.events
    assert again.ingested.events_stored == 0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_never_blocks_cursor_writing(redis_home, cursor_user):
    """Cursor holds write transactions open on both kinds of database while we import:
    the import succeeds, Cursor's commits still go through, and our reads write nothing."""
    ws_path = cursor_user.workspace_dbs[0]
    ws_before = _sha(ws_path)
    writers = []
    for path in (ws_path, cursor_user.global_db):
        w = sqlite3.connect(path, isolation_level=None, timeout=0)
        w.execute("BEGIN IMMEDIATE")
        w.execute("INSERT INTO ItemTable (key, value) VALUES ('cursor.pending', '1')")
        writers.append(w)
    result = run_import("cursor", [cursor_user.root])
    assert result.imported.databases_failed == 0, result.imported.errors
    assert result.imported.events == sum(cursor_user.expected.values())
    assert _sha(ws_path) == ws_before  # read-only: not a byte changed
    for w in writers:
        w.execute("COMMIT")  # would raise "database is locked" had we held a lock
        w.close()


def test_rollback_journal_database_is_read_from_a_copy_while_locked(redis_home, cursor_user):
    """A reader's SHARED lock would block a rollback-journal writer: the import copies
    such a database instead, so a writer in the middle of committing is never held up."""
    w = sqlite3.connect(cursor_user.workspace_dbs[0], isolation_level=None, timeout=0)
    w.execute("BEGIN EXCLUSIVE")  # as if Cursor were writing this very moment
    try:
        result = run_import("cursor", [cursor_user.root])
    finally:
        w.execute("ROLLBACK")
        w.close()
    assert result.imported.databases_failed == 0, result.imported.errors
    assert result.imported.events == sum(cursor_user.expected.values())


def test_unusual_values_never_crash():
    assert records_for_item("bubbleId:c:b", b"null") == []
    assert records_for_item("bubbleId:c:b", b"\xff\xfe")[0].event_type == "invalid_item"
    assert records_for_item("aiService.prompts", b'{"not": "a list"}') == []
    assert records_for_item("composer.composerData", b"[1,2]") == []
    rec = records_for_item("bubbleId:c:b", b"[1, 2]")[0]
    assert rec.event_type == "bubble" and rec.payload["value"] == [1, 2]
    same = records_for_item("aiService.prompts", b'[{"text":"hi"},{"text":"hi"}]')
    assert len({r.key for r in same}) == 2  # the same prompt typed twice counts twice


def test_cli_cursor_json(redis_home, cursor_user):
    from blueplane_cli.main import cli

    res = CliRunner().invoke(cli, ["import", "cursor", "--cursor-dir", str(cursor_user.root),
                                   "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["import"]["events"] == sum(cursor_user.expected.values())
    res = CliRunner().invoke(cli, ["import", "cursor", "--cursor-dir", "/no/such"])
    assert res.exit_code == 1 and "Traceback" not in res.output


@pytest.mark.parametrize("which", ["workspace", "global"])
def test_an_open_reader_holds_no_lock_cursor_would_wait_for(bp_home, cursor_user, which):
    """While our reader sits in the middle of a read, Cursor can still take the write lock
    and commit at once (timeout 0): WAL readers never block the writer, and a
    rollback-journal database is read from a copy."""
    path = cursor_user.workspace_dbs[0] if which == "workspace" else cursor_user.global_db
    with open_readonly(path) as reader:
        cur = reader.execute("SELECT key, value FROM ItemTable")
        assert cur.fetchone() is not None  # a read transaction is now open
        w = sqlite3.connect(path, isolation_level=None, timeout=0)
        w.execute("BEGIN EXCLUSIVE" if which == "workspace" else "BEGIN IMMEDIATE")
        w.execute("INSERT INTO ItemTable (key, value) VALUES ('cursor.now', '1')")
        w.execute("COMMIT")
        w.close()
        cur.fetchall()


def test_a_broken_database_is_reported_and_the_others_imported(redis_home, cursor_user):
    broken = cursor_user.workspace_dbs[0]
    broken.write_bytes(b"this is not a SQLite database" * 100)
    result = run_import("cursor", [cursor_user.root])
    assert result.imported.databases_failed == 1 and result.imported.databases_read == 2
    assert str(broken) in result.imported.errors[0]
    assert result.imported.event_types["bubble"] == cursor_user.expected["bubble"]
