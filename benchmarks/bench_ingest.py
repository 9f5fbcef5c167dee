"""Drain benchmark: Redis stream -> SQLite with one consumer, on real-sized hook envelopes.

Run:  python benchmarks/bench_ingest.py [--events 60000] [--repeat 3] [--baseline]
      python benchmarks/bench_ingest.py --full-payloads    # full privacy + 700 kB events

Each run starts the embedded Redis in a fresh temporary BLUEPLANE_HOME, XADDs the events
first (untimed, pipelined), then times ``ingest()`` alone: read in batches, normalise,
compress in blocks, commit, ack, trim. Target (DESIGN.md): >= 25,000 events/s.

``--baseline`` also times the straightforward loop the design replaced: per event
json.loads -> zlib -> INSERT -> commit -> XACK.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import print_info  # noqa: E402
from _realistic import describe, envelopes, with_large_reads  # noqa: E402


def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="bpb-", dir="/tmp"))
    os.environ["BLUEPLANE_HOME"] = str(home)
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    return home


def load_stream(r, lines: list[bytes], chunk: int = 2000) -> None:
    from blueplane_pipeline.core import config
    from blueplane_pipeline.ingest import stream

    stream.ensure_group(r)
    for i in range(0, len(lines), chunk):
        pipe = r.pipeline(transaction=False)
        for line in lines[i : i + chunk]:
            pipe.xadd(config.STREAM_KEY, {"e": line})
        pipe.execute()


def redis_cpu(r) -> float:
    """CPU seconds the Redis server has used (it shares the machine's two cores)."""
    info = r.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def baseline(r, lines: list[bytes], db: Path, batch: int = 100) -> float:
    """Per event: parse, zlib the JSON, INSERT, commit, XACK. Returns events/s."""
    from blueplane_pipeline.core import config

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE events (event_id TEXT PRIMARY KEY, session_id TEXT,"
                 " event_type TEXT, ts TEXT, data BLOB)")
    t0 = time.perf_counter()
    n = 0
    while True:
        reply = r.xreadgroup(config.GROUP, "baseline", {config.STREAM_KEY: ">"}, count=batch)
        if not reply:
            break
        for eid, fields in reply[0][1]:
            env = json.loads(fields[b"e"])
            conn.execute("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?)",
                         (env["event_id"], env.get("session_id"), env.get("event_type"),
                          env.get("ts"), zlib.compress(json.dumps(env).encode())))
            r.xack(config.STREAM_KEY, config.GROUP, eid)
            n += 1
    elapsed = time.perf_counter() - t0
    conn.close()
    return n / elapsed


def one_run(lines: list[bytes], args, run: int) -> None:
    from blueplane_pipeline.ingest import stream
    from blueplane_pipeline.ingest.drain import ingest
    from blueplane_pipeline.runtime import redis_server

    home = fresh_home()
    try:
        redis_server.start()
        r = stream.client()
        if run == 0:
            print_info(r)
        load_stream(r, lines)
        t0 = time.perf_counter()
        backlog = stream.state(r)  # what the sensor and `status` ask before a run
        state_ms = (time.perf_counter() - t0) * 1000
        assert backlog.lag == len(lines)
        load = os.getloadavg()[0]
        redis_cpu0 = redis_cpu(r)
        t0, c0 = time.perf_counter(), time.process_time()
        stats = ingest(home / "telemetry.db", batch_size=args.batch, trigger="bench")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rcpu = redis_cpu(r) - redis_cpu0
        assert stats.events_stored == len(lines), stats.as_dict()
        assert stats.lag_after == 0 and stream.state(r).pending == 0
        print(f"run {run + 1}: ingest() {len(lines):,} events in {wall:.2f} s = "
              f"{len(lines) / wall:,.0f} events/s (batch {args.batch}; write p50 "
              f"{stats.percentile_ms(.5):.1f} ms p95 {stats.percentile_ms(.95):.1f} ms per "
              f"{args.batch}-event batch; stored {stats.raw_bytes / stats.stored_bytes:.1f}x "
              f"blocks-only) | CPU: ingest {cpu:.2f} s + redis-server {rcpu:.2f} s = "
              f"{len(lines) / (cpu + rcpu):,.0f} events per CPU-second | load {load:.2f} | "
              f"stream.state() at {backlog.lag:,} lag: {state_ms:.1f} ms")
        if args.cli:
            # the measure: the whole `blueplane ingest` process (start-up included)
            r.delete("blueplane:events")
            load_stream(r, lines)
            (home / "telemetry.db").unlink()
            for extra in ("-wal", "-shm"):
                Path(f"{home / 'telemetry.db'}{extra}").unlink(missing_ok=True)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "blueplane_cli.main", "ingest"],
                                  capture_output=True, text=True, env=dict(os.environ))
            wall = time.perf_counter() - t0
            assert proc.returncode == 0, proc.stderr
            conn = sqlite3.connect(home / "telemetry.db")
            stored = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
            conn.close()
            assert stored == len(lines), stored
            print(f"run {run + 1}: `blueplane ingest` process, {len(lines):,} events in "
                  f"{wall:.2f} s = {len(lines) / wall:,.0f} events/s (start-up included)")
        if args.baseline:
            r.delete("blueplane:events")
            load_stream(r, lines)
            eps = baseline(r, lines, home / "baseline.db")
            print(f"run {run + 1}: baseline loop (json+zlib+insert+ack per event): "
                  f"{eps:,.0f} events/s")
        r.close()
    finally:
        redis_server.stop()
        shutil.rmtree(home, ignore_errors=True)


def spool_run(lines: list[bytes], run: int) -> None:
    """Redis down: the hook spools one file per event; time ingest() draining them."""
    from blueplane_pipeline.capture import spool
    from blueplane_pipeline.core import config
    from blueplane_pipeline.ingest.drain import ingest

    home = fresh_home()
    try:
        for line in lines:
            spool.write(config.spool_dir(), [line])
        t0 = time.perf_counter()
        stats = ingest(home / "telemetry.db", redis_url=f"unix://{home}/no-redis.sock")
        wall = time.perf_counter() - t0
        assert stats.events_stored == len(lines) and stats.spool_files == len(lines)
        print(f"run {run + 1}: spool drain, {len(lines):,} one-event files, Redis down: "
              f"{wall:.2f} s = {len(lines) / wall:,.0f} events/s")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--privacy", default="standard", choices=("standard", "full", "strict"))
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--full-payloads", action="store_true",
                        help="full privacy (unreduced payloads) plus one 700 kB event per "
                             "10,000, as a full-privacy stream holds a few")
    parser.add_argument("--profile", action="store_true", help="cProfile one ingest() run")
    parser.add_argument("--cli", action="store_true",
                        help="also time the whole `blueplane ingest` process on the same stream")
    parser.add_argument("--spool", action="store_true",
                        help="drain one-event spool files (Redis down) instead of the stream")
    args = parser.parse_args()
    if args.full_payloads:
        args.privacy = "full"
    lines = envelopes(args.events, privacy_mode=args.privacy)
    if args.full_payloads:
        lines = with_large_reads(lines)
    print(f"events ({args.privacy} privacy{', with 700 kB reads' if args.full_payloads else ''}):",
          describe(lines))
    if args.spool:
        import logging

        logging.getLogger("blueplane.ingest").setLevel(logging.ERROR)
        print_info()
        for run in range(args.repeat):
            spool_run(lines, run)
        return
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        one_run(lines, args, 0)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
        return
    for run in range(args.repeat):
        one_run(lines, args, run)


if __name__ == "__main__":
    main()
