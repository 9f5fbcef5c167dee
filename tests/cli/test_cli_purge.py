"""``blueplane purge --before DATE`` on real transcripts stored by the real writer.

The strongest check: purging a database and refreshing it must give the same derived
tables as a database that only ever received the events on or after DATE. Sessions on both
sides of the date (two fixture sessions span months) exercise the rebuild; events are
written in shuffled batches so blocks mix both sides and must be rewritten.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from analytics_fixtures import store, transcript_envelopes
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.analytics.refresh import refresh_all
from blueplane_pipeline.core.envelope import dumps
from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.storage.codec import Codec
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.purge import cutoff_ms, plan
from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise
from blueplane_pipeline.storage.reader import get_event, iter_events
from blueplane_pipeline.usage.store import refresh as refresh_usage
from tests.conftest import CLAUDE_HOME

CUTOFF = "2025-06-09"  # two sessions have events on both sides
DERIVED = {
    "sessions": "session_id", "tool_calls": "tool_use_id", "turns": "session_id, turn_index",
    "file_edits": "edit_id", "metrics_daily": "day, platform, project_path, model",
    "tool_metrics": "day, tool_name", "token_usage": "dedup_key",
}
VOLATILE = {"id", "raw_seq", "source_line"}  # storage positions, not data


def all_envelopes() -> list[dict]:
    out = []
    for path in sorted((CLAUDE_HOME / "projects").glob("*/*.jsonl")):
        out += transcript_envelopes(path)
    return out


def write_shuffled(db: Path, envelopes: list[dict], seed: int = 1) -> None:
    envelopes = list(envelopes)
    random.Random(seed).shuffle(envelopes)
    conn = open_db(db)
    writer = RawEventWriter(conn)
    for i in range(0, len(envelopes), 150):
        writer.write([normalise(dumps(e)) for e in envelopes[i : i + 150]])
    conn.close()


def refresh(db: Path) -> None:
    conn = open_db(db)
    refresh_usage(conn, load_price_table())
    refresh_all(conn)
    conn.close()


def _rounded(value: object) -> object:
    """Float sums depend on insertion order in the last bit (costs): compare to 1e-5."""
    return round(value, 5) if isinstance(value, float) else value


def dump(db: Path) -> dict[str, list[dict]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out = {}
    for table, order in DERIVED.items():
        out[table] = [{k: _rounded(v) for k, v in dict(r).items() if k not in VOLATILE}
                      for r in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]
    conn.close()
    return out


@pytest.fixture
def purged_home(bp_home):
    envelopes = all_envelopes()
    db = bp_home / "telemetry.db"
    write_shuffled(db, envelopes)
    refresh(db)
    return bp_home, envelopes


def test_purge_then_refresh_equals_never_having_the_old_events(purged_home, tmp_path):
    home, envelopes = purged_home
    db = home / "telemetry.db"
    cut = cutoff_ms(CUTOFF)
    before = plan(sqlite3.connect(db), cut)
    assert before.events > 0 and before.sessions_deleted > 0 and before.sessions_to_rebuild > 0

    result = CliRunner().invoke(cli, ["purge", "--before", CUTOFF, "--yes"])
    assert result.exit_code == 0, result.output
    assert f"Purged {before.events:,} events" in result.output
    refresh(db)

    kept = [e for e in envelopes if e["ts"] >= f"{CUTOFF}T00:00:00"]
    assert 0 < len(kept) < len(envelopes)
    write_shuffled(tmp_path / "fresh.db", kept, seed=2)
    refresh(tmp_path / "fresh.db")
    got, want = dump(db), dump(tmp_path / "fresh.db")
    for table in DERIVED:
        assert got[table] == want[table], table
    assert got["sessions"]  # something survived


def test_raw_storage_after_purge(purged_home):
    home, envelopes = purged_home
    db = home / "telemetry.db"
    cut = cutoff_ms(CUTOFF)
    conn = open_db(db)
    from blueplane_pipeline.storage.purge import purge

    stats = purge(conn, cut)
    assert stats.blocks_rewritten > 0  # mixed blocks were rewritten, not skipped
    assert conn.execute("SELECT count(*) FROM raw_events WHERE ts_ms < ?",
                        (cut,)).fetchone()[0] == 0
    # Every block holds exactly its rows' bodies, positions 0..n-1: no purged body remains.
    codec = Codec()
    for block_id, n, data, dict_id in conn.execute(
            "SELECT block_id, n_events, data, dict_id FROM raw_event_blocks").fetchall():
        if dict_id is not None and not codec.has_dict(dict_id):
            codec.add_dict(dict_id, conn.execute("SELECT data FROM codec_dicts WHERE dict_id=?",
                                                 (dict_id,)).fetchone()[0])
        positions = [r[0] for r in conn.execute(
            "SELECT block_pos FROM raw_events WHERE block_id = ? ORDER BY block_pos",
            (block_id,))]
        assert positions == list(range(n)) == list(range(len(codec.decompress(data, dict_id))))
    # Session spans still lead the reader to every remaining event of a session.
    spans = conn.execute("SELECT count(*) FROM session_spans sp WHERE NOT EXISTS (SELECT 1 FROM"
                         " raw_events r WHERE r.session = sp.session AND r.block_id ="
                         " sp.block_id AND r.seq = sp.first_seq)").fetchone()[0]
    assert spans == 0
    by_id = {e["event_id"]: e for e in envelopes}
    remaining = list(iter_events(conn))
    assert len(remaining) == sum(1 for e in envelopes if e["ts"] >= f"{CUTOFF}T00:00:00")
    for ev in remaining:
        assert ev.envelope["payload"] == by_id[ev.envelope["event_id"]]["payload"]
    for sid in {e["session_id"] for e in envelopes}:
        assert [ev.envelope["event_id"] for ev in iter_events(conn, session_id=sid)] == [
            ev.envelope["event_id"] for ev in remaining if ev.envelope["session_id"] == sid]
    gone = next(e for e in envelopes if e["ts"] < f"{CUTOFF}T00:00:00")
    assert get_event(conn, gone["event_id"]) is None
    conn.close()


def test_purging_everything_then_capturing_again(purged_home):
    """Seq numbers restart after the last event is deleted: watermarks must follow."""
    home, envelopes = purged_home
    db = home / "telemetry.db"
    result = CliRunner().invoke(cli, ["purge", "--before", "2099-01-01", "--yes", "--json"])
    assert result.exit_code == 0, result.output
    conn = open_db(db)
    assert conn.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    conn.close()
    doctacon = [e for e in envelopes if e["session_id"].startswith("38cc65a3")]
    store(db, doctacon).close()
    refresh(db)
    conn = open_db(db)
    assert [r[0] for r in conn.execute("SELECT session_id FROM sessions")] == [
        doctacon[0]["session_id"]]
    assert conn.execute("SELECT count(*) FROM token_usage").fetchone()[0] > 0
    conn.close()


def test_purge_asks_first(purged_home):
    home, _ = purged_home
    db = home / "telemetry.db"
    count = sqlite3.connect(db).execute("SELECT count(*) FROM raw_events").fetchone()[0]
    result = CliRunner().invoke(cli, ["purge", "--before", CUTOFF])
    assert result.exit_code == 1
    assert "Not confirmed: re-run with --yes" in result.output
    assert sqlite3.connect(db).execute("SELECT count(*) FROM raw_events").fetchone()[0] == count
    bad = CliRunner().invoke(cli, ["purge", "--before", "September"])
    assert bad.exit_code == 1 and "not a date" in bad.output
    nothing = CliRunner().invoke(cli, ["purge", "--before", "2000-01-01"])
    assert nothing.exit_code == 0 and "Nothing captured before 2000-01-01" in nothing.output
