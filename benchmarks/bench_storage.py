"""Storage benchmark: 100-event batch write latency and stored size vs raw JSON.

Run:  python benchmarks/bench_storage.py [--events 30000] [--repeat 3]

Targets (DESIGN.md): ``RawEventWriter.write`` of a 100-event batch p95 <= 10 ms;
stored >= 7x smaller than the raw envelope JSON, single events still readable by id.

What "stored" counts: every page SQLite uses for the events, read from the ``dbstat``
virtual table after the run (blocks, per-event rows, the ``event_id`` unique index, the
by-session index, the session/kind lookup tables and the zstd dictionary) — i.e. the bytes
the events really take on disk, page slack included. The compressed block payloads alone
are printed beside it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import print_info  # noqa: E402
from _realistic import describe, envelopes, real_payload_envelopes  # noqa: E402

from blueplane_pipeline.storage.db import connect, open_db  # noqa: E402
from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise  # noqa: E402
from blueplane_pipeline.storage.reader import get_event, iter_events  # noqa: E402

# Every table and index that holds events (raw_events' unique index is named after the
# table it was created as, hence the prefixes).
EVENT_TABLE_PREFIXES = (
    "raw_event", "sqlite_autoindex_raw_event", "event_sessions", "sqlite_autoindex_event_",
    "event_kinds", "codec_dicts", "session_spans", "sqlite_autoindex_session_spans",
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def store(lines: list[bytes], batch: int, workdir: Path):
    """Write ``lines`` in ``batch``-event calls; return the db and per-call wall ms of
    writer.write, wall ms of normalise+write, and CPU ms of writer.write."""
    db = workdir / f"bench-{time.time_ns()}.db"
    conn = open_db(db)
    writer = RawEventWriter(conn)
    write_ms, total_ms, cpu_ms = [], [], []
    for i in range(0, len(lines), batch):
        t0 = time.perf_counter()
        events = [normalise(x) for x in lines[i : i + batch]]
        t1, c1 = time.perf_counter(), time.process_time()
        writer.write(events)
        t2, c2 = time.perf_counter(), time.process_time()
        write_ms.append((t2 - t1) * 1000)
        total_ms.append((t2 - t0) * 1000)
        cpu_ms.append((c2 - c1) * 1000)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db, write_ms, total_ms, cpu_ms


def sizes(db: Path) -> dict:
    conn = open_db(db)
    pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    blocks = conn.execute("SELECT sum(length(data)), count(*) FROM raw_event_blocks").fetchone()
    raw = conn.execute("SELECT sum(raw_bytes) FROM raw_event_blocks").fetchone()[0]
    n = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
    dicts = conn.execute("SELECT count(*) FROM codec_dicts").fetchone()[0]
    conn.close()
    counted = {t: b for t, b in pages.items() if t.startswith(EVENT_TABLE_PREFIXES)}
    return {"events": n, "raw": raw, "stored_pages": sum(counted.values()),
            "block_payload": blocks[0], "blocks": blocks[1], "dicts": dicts,
            "file": db.stat().st_size, "pages": counted}


def empty_pages(workdir: Path) -> int:
    """What the event tables take before any event: one page each (a fixed cost)."""
    db = workdir / "empty.db"
    open_db(db).close()
    pages = sizes(db)["stored_pages"]
    db.unlink()
    return pages


def check_readable(db: Path, lines: list[bytes], samples: int = 200) -> float:
    """Read sampled events back by id on a fresh read-only connection; return ms per read."""
    import orjson

    conn = connect(db, readonly=True)
    rng = random.Random(1)
    picked = [orjson.loads(line) for line in rng.sample(lines, min(samples, len(lines)))]
    t0 = time.perf_counter()
    got = [get_event(conn, sent["event_id"]) for sent in picked]
    elapsed = time.perf_counter() - t0
    for sent, back in zip(picked, got, strict=True):
        assert back == sent, f"event {sent['event_id']} did not read back equal"
    conn.close()
    return elapsed * 1000 / len(picked)


def latency(args, workdir: Path) -> None:
    lines = envelopes(args.events, privacy_mode=args.privacy)
    print(f"\n== 100-event batch write latency ({args.privacy} privacy) ==")
    print("events:", describe(lines))
    for run in range(args.repeat):
        load = os.getloadavg()[0]
        db, write_ms, total_ms, cpu_ms = store(lines, 100, workdir)
        wall = sum(write_ms) / 1000
        print(f"run {run + 1}: writer.write p50 {pct(write_ms, .5):.2f} ms  "
              f"p95 {pct(write_ms, .95):.2f} ms  p99 {pct(write_ms, .99):.2f} ms  "
              f"max {max(write_ms):.1f} ms  mean {statistics.mean(write_ms):.2f} ms  "
              f"({len(lines) / wall:,.0f} ev/s) | CPU p95 {pct(cpu_ms, .95):.2f} ms | "
              f"normalise+write p95 {pct(total_ms, .95):.2f} ms | load {load:.2f}")
        if run == 0:
            reads(db, lines)
        db.unlink()


def reads(db: Path, lines: list[bytes]) -> None:
    """Read throughput of the one reader API on the database just written."""
    import orjson

    conn = connect(db, readonly=True)
    t0 = time.perf_counter()
    n = sum(1 for _ in iter_events(conn))
    all_s = time.perf_counter() - t0
    sessions = list(dict.fromkeys(orjson.loads(x)["session_id"] for x in lines[::500]))[:20]
    t0 = time.perf_counter()
    m = sum(1 for sid in sessions for _ in iter_events(conn, session_id=sid))
    by_session = time.perf_counter() - t0
    conn.close()
    print(f"       iter_events: all {n:,} events in {all_s:.2f} s ({n / all_s:,.0f}/s); "
          f"{len(sessions)} sessions by session_id: {m:,} events in {by_session * 1000:.0f} ms")


def size(args, workdir: Path) -> None:
    datasets = [
        ("real hook payloads, standard", real_payload_envelopes("standard")),
        ("real hook payloads, full", real_payload_envelopes("full")),
        ("every real session once, standard", envelopes(None)),
        ("every real session once, full", envelopes(None, privacy_mode="full")),
        (f"realistic stream {args.events}, standard", envelopes(args.events)),
        (f"realistic stream {args.events}, full", envelopes(args.events, privacy_mode="full")),
    ]
    fixed = empty_pages(workdir)
    print("\n== stored size vs raw envelope JSON, by write batch size ==")
    print(f"(an empty database's event tables take {fixed:,} B: one page per table/index; "
          "'above empty' subtracts it)")
    for name, lines in datasets:
        for batch in args.batches:
            db = store(lines, batch, workdir)[0]
            s = sizes(db)
            read_ms = check_readable(db, lines)
            print(f"{name:38s} batch {batch:4d}: raw {s['raw']:>11,} B  stored (pages) "
                  f"{s['stored_pages']:>10,} B = {s['raw'] / s['stored_pages']:5.2f}x "
                  f"(above empty {s['raw'] / (s['stored_pages'] - fixed):5.2f}x, "
                  f"{(s['stored_pages'] - fixed) / s['events']:.0f} B/event)  | "
                  f"blocks only {s['block_payload']:>10,} B = "
                  f"{s['raw'] / s['block_payload']:5.2f}x  | {s['blocks']} blocks, "
                  f"dicts {s['dicts']} | get_event {read_ms:.2f} ms, "
                  f"{min(200, len(lines))} sampled ids read back equal")
            if args.verbose:
                print("   pages:", s["pages"])
            db.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--privacy", default="standard", choices=("standard", "full", "strict"))
    parser.add_argument("--only", choices=("latency", "size"))
    parser.add_argument("--batches", type=int, nargs="+", default=[1000, 100, 10],
                        help="write batch sizes for the size runs (10 = a sensor's trickle)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    print_info()
    workdir = Path(tempfile.mkdtemp(prefix="bp-bench-"))
    try:
        if args.only in (None, "latency"):
            latency(args, workdir)
        if args.only in (None, "size"):
            size(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
