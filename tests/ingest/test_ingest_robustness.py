"""Ingest never stalls on a bad entry: whatever is in an envelope, the stream drains.

Every entry is either stored or, after ``MAX_FAILURES`` failed deliveries, moved to the
dead-letter queue; everything after it is stored meanwhile. Also: two ingests draining
the same spool at once, and environmental failures reported as such.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueplane_pipeline.capture import spool
from blueplane_pipeline.core import config
from blueplane_pipeline.core.envelope import dumps, make_envelope
from blueplane_pipeline.ingest import stream
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import connect
from blueplane_pipeline.storage.reader import iter_events

ODD_NUMBERS = [10**30, -(10**30), 2**63, 2**64 + 1, 1e308, -1e308, math.nan, math.inf,
               -math.inf, 0, -1, 1.5, True]
scalars = st.one_of(st.none(), st.booleans(), st.text(max_size=20),
                    st.integers(min_value=-(10**40), max_value=10**40),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(ODD_NUMBERS))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
FIELDS = ("v", "event_id", "platform", "source", "event_type", "session_id", "ts",
          "captured_at", "payload")


@st.composite
def entries(draw) -> bytes:
    """Raw bytes of one stream entry's ``e`` field: an envelope whose every field may be
    of the wrong type, huge, NaN/Infinity (as bare JSON tokens), deeply nested or absent;
    or not JSON at all."""
    kind = draw(st.sampled_from(["envelope", "envelope", "envelope", "garbage", "deep"]))
    if kind == "garbage":
        return draw(st.binary(max_size=40))
    env = dict(make_envelope("claude_code", "hook", "PreToolUse", {"tool_name": "Bash"},
                             session_id="s"))
    for name in FIELDS:
        choice = draw(st.integers(0, 3))
        if choice == 1:
            env[name] = draw(values)
        elif choice == 2:
            env.pop(name, None)
    if kind == "deep":
        nested: object = "x"
        for _ in range(draw(st.sampled_from([200, 300, 2000]))):
            nested = [nested]
        env["payload"] = nested
    try:
        return json.dumps(env, allow_nan=True).encode()
    except (RecursionError, ValueError):
        return b"[" * 5000


def _reset(r) -> None:
    r.delete(config.STREAM_KEY, config.DLQ_KEY, stream.FAILURES_KEY)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(entries(), min_size=1, max_size=25))
def test_the_stream_always_drains(redis_client, tmp_path_factory, batch):
    _reset(redis_client)
    db = tmp_path_factory.mktemp("db") / "t.db"
    good = make_envelope("claude_code", "hook", "Stop", {}, session_id="after")
    for raw in [*batch, dumps(good)]:
        redis_client.xadd(config.STREAM_KEY, {"e": raw})
    total = len(batch) + 1
    stored = 0
    for _ in range(stream.MAX_FAILURES + 1):
        stored += ingest(db, stale_ms=0).events_stored
    state = stream.state(redis_client)
    assert (state.lag, state.pending) == (0, 0), "the stream did not drain"
    assert stored + state.dlq + _duplicates(db, batch) >= total
    conn = connect(db, readonly=True)
    try:
        ids = {e.envelope["event_id"] for e in iter_events(conn)}
    finally:
        conn.close()
    assert good["event_id"] in ids, "a good event behind bad ones was not stored"


def _duplicates(db, batch) -> int:
    """Entries that repeat an event_id already stored (stored once, counted once)."""
    seen: set = set()
    dupes = 0
    for raw in batch:
        try:
            eid = json.loads(raw).get("event_id")
        except (ValueError, AttributeError, RecursionError):
            continue
        if isinstance(eid, str):
            dupes += eid in seen
            seen.add(eid)
    return dupes


def test_a_timestamp_beyond_64_bits_is_stored_not_retried_forever(redis_client, tmp_path):
    _reset(redis_client)
    bad = make_envelope("claude_code", "hook", "Stop", {}, session_id="s")
    bad["ts"] = 10**30
    after = make_envelope("claude_code", "hook", "Stop", {}, session_id="s")
    redis_client.xadd(config.STREAM_KEY, {"e": dumps(bad)})
    redis_client.xadd(config.STREAM_KEY, {"e": dumps(after)})
    stats = ingest(tmp_path / "t.db")
    assert stats.events_stored == 2 and stats.failed == 0
    assert stream.state(redis_client).lag == 0


def test_two_ingests_drain_one_spool_without_failing(bp_home, tmp_path):
    """Redis down, many spool files, two ingests at once: both finish, every event is
    stored exactly once, no spool file is left."""
    envs = [make_envelope("claude_code", "hook", "Stop", {"i": i}, session_id="s")
            for i in range(400)]
    for i in range(0, len(envs), 2):
        spool.write(config.spool_dir(), [dumps(e) for e in envs[i:i + 2]])
    db = tmp_path / "t.db"
    ingest(db)  # create the schema first: the race under test is the spool's
    for e in envs[:2]:
        spool.write(config.spool_dir(), [dumps(e)])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ingest(db)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    for i in range(0, len(envs), 2):
        spool.write(config.spool_dir(), [dumps(e) for e in envs[i:i + 2]])
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert spool.pending_files(config.spool_dir()) == []
    conn = connect(db, readonly=True)
    try:
        ids = [e.envelope["event_id"] for e in iter_events(conn)]
    finally:
        conn.close()
    assert sorted(ids) == sorted(e["event_id"] for e in envs)


def _ingest_on_a_small_filesystem(home, *, readonly: bool) -> dict:
    """Run ``blueplane ingest`` with ``home`` copied onto a tmpfs of its own (in a private
    mount namespace, so nothing outside the test sees it): mounted read-only, or filled up
    to the last byte. Returns the exit code, stderr and what is left in the spool."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a private tmpfs")
    script = f"""
set -e
mount -t tmpfs -o size=4m tmpfs {home}
cp -a {home}.src/. {home}/
{"mount -o remount,ro " + str(home) if readonly else
 f"dd if=/dev/zero of={home}/filler bs=4k 2>/dev/null || true"}
set +e
BLUEPLANE_HOME={home} {sys.executable} -m blueplane_cli.main ingest 2>{home}.err
echo "rc=$?"
ls {home}/spool | grep -c jsonl || true
"""
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("mounting a private tmpfs is not permitted here")
    lines = proc.stdout.split()
    assert lines and lines[0].startswith("rc="), proc.stdout + proc.stderr
    return {"rc": int(lines[0][3:]), "stderr": Path(f"{home}.err").read_text(),
            "spool_files": int(lines[1])}


@pytest.mark.parametrize("readonly", [True, False], ids=["read-only", "disk-full"])
def test_ingest_on_a_read_only_or_full_disk_is_one_error_line(tmp_path, readonly):
    """An environmental failure is not a bad event: nothing is dead-lettered or lost, and
    the CLI says what is wrong in one line (a full disk used to surface as "cannot
    rollback - no transaction is active")."""
    import os

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    src = tmp_path / "home.src"
    (src / "spool").mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BLUEPLANE_HOME", str(src))
        ingest(src / "telemetry.db")
    envs = [make_envelope("claude_code", "hook", "Stop", {"pad": "x" * 2000, "i": i})
            for i in range(600)]
    spool.write(src / "spool", [dumps(e) for e in envs])
    (tmp_path / "home").mkdir()
    result = _ingest_on_a_small_filesystem(tmp_path / "home", readonly=readonly)
    assert result["rc"] != 0
    assert "Traceback" not in result["stderr"]
    lines = [ln for ln in result["stderr"].splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result["stderr"]
    assert "rollback" not in lines[0]
    assert result["spool_files"] == 1  # the events still wait in the spool


class _FullAtCommit:
    """A connection whose COMMIT fails the way SQLite does when the disk fills up at that
    moment: the transaction is already rolled back, so a later ROLLBACK fails too."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def execute(self, sql, *args):
        if sql == "COMMIT":
            self.conn.execute("ROLLBACK")
            raise __import__("sqlite3").OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_failed_commit_reports_its_own_error_not_the_rollbacks(tmp_path):
    import sqlite3

    from blueplane_pipeline.storage.db import open_db
    from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise

    conn = open_db(tmp_path / "t.db")
    try:
        writer = RawEventWriter(_FullAtCommit(conn))
        event = normalise(dumps(make_envelope("claude_code", "hook", "Stop", {})))
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            writer.write([event])
        assert conn.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 0
    finally:
        conn.close()


def test_the_hook_on_a_full_disk_logs_and_leaves_no_temporary_file(tmp_path):
    """Redis down and the spool's disk full: the event cannot be kept; the hook still exits
    0, says why in hook-errors.log when it can, and leaves no 0-byte file in spool/."""
    import os
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to mount a private full tmpfs")
    home = tmp_path / "home"
    home.mkdir()
    payload = json.dumps({"session_id": "s", "hook_event_name": "Stop", "pad": "x" * 50_000})
    script = f"""
mount -t tmpfs -o size=64k tmpfs {home}
mkdir -p {home}/spool {home}/logs
dd if=/dev/zero of={home}/filler bs=1k count=40 2>/dev/null
echo '{payload}' | BLUEPLANE_HOME={home} BLUEPLANE_REDIS_URL=unix:///nonexistent.sock \\
  {sys.executable} -m blueplane_pipeline.capture.hook claude-code
echo "rc=$?"
ls -a {home}/spool | grep -vc '^[.]*$' || true
"""
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                          text=True, timeout=60)
    out = proc.stdout.split()
    assert out[0] == "rc=0", proc.stdout + proc.stderr
    assert out[1] == "0", "a temporary or partial spool file was left behind"
