"""Full-text search benchmark: building the FTS5 index from a year of transcripts, and
`blueplane search` queries on it.

Run:  python benchmarks/bench_search.py [--sessions-per-day 6] [--days 365] [--repeat 20]

1. A year of history from the real transcripts in tests/fixtures/real/claude_home: each
   real session is replayed under fresh session ids (``--sessions-per-day`` a day, the
   corpus in turn), its lines dated into that day, as the importer stores them
   (transcript events, privacy filter ``standard``). Prompts, assistant text, commands
   and paths are the real ones.
2. The session tables are built (the index reads titles from them), then the index from
   scratch (``analytics.search_index.refresh_search_index``: what the ``search_index``
   asset runs); MB/s counts the text indexed. Target (issue 14): >= 20 MB/s. Then +1 %
   new events, incrementally.
3. Queries through the read API (``read.search.find``, a fresh read-only connection per
   query, ``--repeat`` times each): a common word, two words, a phrase, a rare word,
   filtered by project, by tool and by date. Target: <= 100 ms per query. The whole
   ``blueplane search`` process is timed too (Python and click start-up included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import print_info  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("BLUEPLANE_FIXTURES", REPO / "tests" / "fixtures" / "real"))
QUERIES = [  # (label, query, filters)
    ("common word", "test", {}),
    ("two words", "rust library", {}),
    ("phrase", '"git status"', {}),
    ("rare word", "justfile", {}),
    ("common word, one project", "test", {"project": True}),
    ("common word, tool Bash", "test", {"tool": "Bash"}),
    ("common word, last 30 days", "test", {"since_days": 30}),
]


def corpus() -> list[tuple[str, list[dict]]]:
    """(project folder, lines) of every real transcript with a timestamped line."""
    out = []
    for path in sorted((FIXTURES / "claude_home" / "projects").glob("*/*.jsonl")):
        lines = []
        for raw in path.read_bytes().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("timestamp"):
                lines.append(line)
        if lines:
            out.append((path.parent.name, lines))
    return out


def history(days: int, per_day: int, seed: int = 3) -> list[dict]:
    """Transcript envelopes for ``days`` days ending now, ``per_day`` sessions a day."""
    from blueplane_pipeline.core.envelope import deterministic_id, make_envelope
    from blueplane_pipeline.core.privacy import filter_payload
    from blueplane_pipeline.core.times import iso_ms, parse_ts_ms

    rng = random.Random(seed)
    base = corpus()
    now_ms = int(time.time() * 1000)
    first_day = now_ms - days * 86_400_000
    out = []
    n = 0
    for day in range(days):
        for s in range(per_day):
            project, lines = base[n % len(base)]
            n += 1
            sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            t0 = parse_ts_ms(lines[0]["timestamp"])
            start = first_day + day * 86_400_000 + (8 + 1.5 * s) * 3_600_000
            rel = f"{project}/{sid}.jsonl"
            for i, line in enumerate(lines, 1):
                ts = min(now_ms - 1000, int(start + (parse_ts_ms(line["timestamp"]) - t0)))
                line = {**line, "sessionId": sid, "timestamp": iso_ms(ts)}
                payload = filter_payload({**line, "_file": rel, "_line": i}, "standard",
                                         line.get("cwd"))
                out.append(make_envelope("claude_code", "transcript", str(line.get("type")),
                                         payload, session_id=sid, ts=line["timestamp"],
                                         event_id=deterministic_id("bench-search", rel, str(i))))
    return out


def store(db: Path, envelopes: list[dict]) -> None:
    from blueplane_pipeline.core.envelope import dumps
    from blueplane_pipeline.storage.db import open_db
    from blueplane_pipeline.storage.raw_events import RawEventWriter, normalise

    conn = open_db(db)
    writer = RawEventWriter(conn)
    for i in range(0, len(envelopes), 1000):
        writer.write([normalise(dumps(e)) for e in envelopes[i:i + 1000]])
    conn.close()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sessions-per-day", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    print_info()
    home = Path(tempfile.mkdtemp(prefix="bpq-", dir="/tmp"))
    os.environ["BLUEPLANE_HOME"] = str(home)
    from blueplane_pipeline.analytics.refresh import refresh_all
    from blueplane_pipeline.analytics.search_index import refresh_search_index
    from blueplane_pipeline.read import search as text_search
    from blueplane_pipeline.read.filters import project_paths
    from blueplane_pipeline.storage.db import connect, open_db

    try:
        t = time.perf_counter()
        envelopes = history(args.days, args.sessions_per_day)
        extra = max(1, len(envelopes) // 100)
        db = home / "telemetry.db"
        store(db, envelopes[:-extra])
        print(f"history: {args.days} days x {args.sessions_per_day} sessions (real transcripts "
              f"replayed), {len(envelopes) - extra} events stored "
              f"({time.perf_counter() - t:.1f} s)")
        conn = open_db(db)
        refresh_all(conn)
        size0 = db.stat().st_size + Path(f"{db}-wal").stat().st_size
        event_bytes = conn.execute("SELECT sum(raw_size) FROM raw_events").fetchone()[0]
        full = refresh_search_index(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size1 = db.stat().st_size
        print(f"index build: {full.docs_added} entries, {full.text_bytes / 1e6:.1f} MB of text "
              f"from {full.events_read} events in {full.seconds:.2f} s = "
              f"{full.text_bytes / 1e6 / full.seconds:.1f} MB/s "
              f"({full.events_read / full.seconds:,.0f} events/s) -- target >= 20 MB/s")
        print(f"  writing the entries (FTS5 tokenizing, rows) took {full.write_seconds:.2f} s"
              f" of it = {full.text_bytes / 1e6 / full.write_seconds:.1f} MB/s of text")
        print(f"  = {event_bytes / 1e6 / full.seconds:.1f} MB/s of stored event JSON read "
              f"({event_bytes / 1e6:.1f} MB: decoded, facts extracted, text indexed)")
        print(f"  database grew {(size1 - size0) / 1e6:+.1f} MB with the index")
        conn.close()
        store(db, envelopes[-extra:])
        conn = open_db(db)
        refresh_all(conn)
        inc = refresh_search_index(conn)
        conn.close()
        print(f"after +1 % events: {inc.docs_added} entries from {inc.events_read} events in "
              f"{inc.seconds:.3f} s ({inc.seconds / full.seconds:.1%} of the build)")

        reader = connect(db, readonly=True)
        project = reader.execute("SELECT project_name FROM sessions GROUP BY project_name"
                                 " ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        paths = project_paths(reader, project)
        reader.close()
        print(f"\nqueries ({args.repeat} runs each, a fresh read-only connection per query):")
        for label, query, flt in QUERIES:
            kwargs: dict = {}
            if flt.get("project"):
                kwargs["project_paths"] = paths
            if flt.get("tool"):
                kwargs["tool"] = flt["tool"]
            if flt.get("since_days"):
                kwargs["since_ms"] = int(time.time() * 1000) - flt["since_days"] * 86_400_000
            times, hits = [], 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                c = connect(db, readonly=True)
                hits = len(text_search.find(c, query, limit=20, **kwargs))
                c.close()
                times.append((time.perf_counter() - t) * 1000)
            matched = _count(db, query)
            print(f"  {label:28} {query!r:16} {matched:>7} matching entries, {hits:>2} shown: "
                  f"median {statistics.median(times):6.1f} ms, p95 {p95(times):6.1f} ms")
        print("  target: <= 100 ms per query")
        env = dict(os.environ, COLUMNS="120")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cli = [sys.executable, "-m", "blueplane_cli.main", "search", "test", "--json"]
        subprocess.run(cli, env=env, capture_output=True, check=True)  # bytecode, caches
        walls = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run(cli, env=env, capture_output=True, check=True)
            walls.append(time.perf_counter() - t)
        print(f"  `blueplane search test --json`, whole process: median "
              f"{statistics.median(walls) * 1000:.0f} ms of 5")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _count(db: Path, query: str) -> int:
    from blueplane_pipeline.read.search import query_expression
    from blueplane_pipeline.storage.db import connect

    c = connect(db, readonly=True)
    try:
        return c.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH ?",
                         (query_expression(query),)).fetchone()[0]
    finally:
        c.close()


if __name__ == "__main__":
    main()
