"""Analytics refresh on a generated 1M-event database: full rebuild vs +1 % incremental.

Run:  python benchmarks/bench_analytics.py [--events 1000000] [--db /tmp/bp-bench-analytics.db]

The database holds realistic hook envelopes (``_realistic``: the real transcripts replayed
as hooks, sessions interleaved, privacy filter applied) written by the real raw-event
writer. Steps, each timed in its own process so peak memory (max RSS) is its own:

1. full rebuild of every analytics table (``refresh_all(full=True)``), while this process
   runs reader queries against the same file and records their worst latency and any
   "database is locked";
2. +1 % new events (the tail of the stream: continuing sessions and new ones), then an
   incremental refresh.

Target (DESIGN.md): the incremental refresh takes ≤ 10 % of the full rebuild.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import time
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

CHUNK = 100_000


def build(db: Path, events: int) -> dict:
    """Write ``events`` base events, and keep the next 1 % aside for the increment."""
    from _realistic import envelopes

    from blueplane_pipeline.storage.db import open_db
    from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise

    extra = events // 100
    conn = open_db(db)
    writer = RawEventWriter(conn)
    t0 = time.perf_counter()
    written, seed = 0, 0
    increment: list[bytes] = []
    while written < events:
        n = min(CHUNK, events - written)
        last = written + n >= events
        # Each chunk: a fresh seeded stream of concurrent sessions. The last chunk is
        # generated 1 % longer and cut, so the increment continues its open sessions.
        lines = envelopes(n + (extra if last else 0), concurrent=16, seed=seed)
        lines = [_vary(x, seed) for x in lines]
        for i in range(0, n, 1000):
            writer.write([normalise(x) for x in lines[i : min(i + 1000, n)]])
        if last:
            increment = lines[n:]
        written += n
        seed += 1
    (db.parent / (db.name + ".increment.jsonl")).write_bytes(b"\n".join(increment))
    return {"events": written, "increment": len(increment),
            "seconds": round(time.perf_counter() - t0, 1)}


DAYS_PER_CHUNK = 18  # 10 chunks of 100k events: about half a year of history


def _vary(line: bytes, chunk: int) -> bytes:
    """The generator replays the same real sessions many times; make each replay its own
    history: spread sessions over days (chunk by chunk, so newer chunks are newer days) and
    give each replay its own tool_use ids (a real id never repeats across sessions)."""
    env = orjson.loads(line)
    sid = env.get("session_id") or ""
    shift = timedelta(days=chunk * DAYS_PER_CHUNK + zlib.crc32(sid.encode()) % DAYS_PER_CHUNK)
    for key in ("ts", "captured_at"):
        if isinstance(env.get(key), str):
            t = datetime.fromisoformat(env[key].replace("Z", "+00:00")) + shift
            env[key] = t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    payload = env.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("tool_use_id"), str):
        payload["tool_use_id"] = f"{payload['tool_use_id']}.{sid[:8]}"
    return orjson.dumps(env)


def step(db: Path, what: str) -> dict:
    """One measured step (run in a child process)."""
    from blueplane_pipeline.analytics.refresh import refresh_all
    from blueplane_pipeline.storage.db import open_db

    conn = open_db(db)
    if what == "add":
        from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise

        lines = (db.parent / (db.name + ".increment.jsonl")).read_bytes().split(b"\n")
        RawEventWriter(conn).write([normalise(x) for x in lines if x])
        return {"added": len(lines)}
    t0 = time.perf_counter()
    stats = refresh_all(conn, full=(what == "full"))
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 2),
            "peak_rss_mb": _peak_rss_mb(),
            "new_events": stats.sessions.new_events, "events_read": stats.sessions.events_read,
            "sessions_rebuilt": stats.sessions.sessions_rebuilt,
            "rows": stats.sessions.rows_written, "days": stats.rollups.days,
            "phases_s": {"sessions": stats.sessions.seconds, "rollups": stats.rollups.seconds,
                         "insights": stats.insights.seconds}}


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's, which
    Linux carries across exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def child(db: Path, what: str, watch_readers: bool = False) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--db", str(db), "--step", what],
                            stdout=subprocess.PIPE, text=True)
    readers = _watch(db, proc) if watch_readers else None
    out, _ = proc.communicate()
    result = json.loads(out.strip().splitlines()[-1])
    if readers:
        result["readers"] = readers
    return result


def _watch(db: Path, proc: subprocess.Popen) -> dict:
    """Reader queries (the CLI's kind) against the live file while the refresh runs."""
    from blueplane_pipeline.storage.db import connect

    times: list[float] = []
    locked = 0
    while proc.poll() is None:
        t0 = time.perf_counter()
        try:
            conn = connect(db, readonly=True)
            conn.execute("SELECT count(*), sum(tool_calls) FROM sessions").fetchone()
            conn.execute("SELECT day, sum(tool_calls), sum(cost_usd) FROM metrics_daily "
                         "GROUP BY day ORDER BY day DESC LIMIT 30").fetchall()
            conn.close()
        except sqlite3.OperationalError as exc:
            locked += "locked" in str(exc)
        times.append(time.perf_counter() - t0)
        time.sleep(0.05)
    times.sort()
    return {"queries": len(times), "locked_errors": locked,
            "p50_ms": round(times[len(times) // 2] * 1000, 1),
            "p95_ms": round(times[int(len(times) * 0.95)] * 1000, 1),
            "worst_ms": round(times[-1] * 1000, 1)}


def _copy(src: Path, dst: Path) -> None:
    for path in (dst, Path(f"{dst}-wal"), Path(f"{dst}-shm")):
        path.unlink(missing_ok=True)
    conn = sqlite3.connect(src)
    conn.execute("VACUUM INTO ?", (str(dst),))
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=Path("/tmp/bp-bench-analytics.db"))
    ap.add_argument("--step", choices=["full", "incremental", "add"])
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.db, args.step)))
        return
    from _machine import info

    built = None
    base = args.db.with_suffix(".base.db")  # the 1M-event state, so runs can be repeated
    if not base.exists():
        for path in (args.db, Path(f"{args.db}-wal"), Path(f"{args.db}-shm")):
            path.unlink(missing_ok=True)
        built = build(args.db, args.events)
        _copy(args.db, base)
    else:
        _copy(base, args.db)
    full = child(args.db, "full", watch_readers=True)
    child(args.db, "add")
    incremental = child(args.db, "incremental")
    report = {
        "machine": info(), "database": {"path": str(args.db),
                                        "bytes": args.db.stat().st_size, "built": built},
        "full_rebuild": full, "incremental_after_1pct": incremental,
        "ratio": round(incremental["seconds"] / full["seconds"], 4),
        "target_ratio": 0.10,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
