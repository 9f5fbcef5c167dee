"""Transcript import benchmark: JSONL files -> stream -> raw_events, end to end.

Run:  python benchmarks/bench_import.py [--mb 100] [--files 1000] [--repeat 3]

1. Throughput. A tree of ~``--mb`` MB is built by replicating the real fixture transcripts
   with fresh session ids and uuids (so nothing deduplicates), the embedded Redis runs in a
   fresh BLUEPLANE_HOME, and ``run_import`` (read, privacy filter, XADD, in-process
   ingest into raw_events) is timed. Target (issue 3): >= 20 MB/s.
2. Re-run over an unchanged tree of ``--files`` files: timed both as the library call and
   as the whole ``blueplane import claude-code --json`` process. Target: <= 1 s.
3. Cursor: a generated store (``sources.cursor_fixture``, 200 composers x 50 bubbles):
   full import, re-import after one changed bubble, re-import of an unchanged store.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests.cursor_fixture

from _machine import print_info  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("BLUEPLANE_FIXTURES", REPO / "tests" / "fixtures" / "real"))
UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="bpb-", dir="/tmp"))
    os.environ["BLUEPLANE_HOME"] = str(home)
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    return home


def replicate(dest: Path, target_bytes: int | None = None, files: int | None = None) -> tuple:
    """Copies of the fixture transcripts with every uuid (session ids included) remapped
    per copy, until ``target_bytes`` or ``files`` is reached. Returns (files, bytes)."""
    sources = sorted((FIXTURES / "claude_home" / "projects").glob("*/*.jsonl"))
    blobs = [(p.parent.name, p.read_bytes()) for p in sources]
    n_files = n_bytes = copy = 0
    while True:
        ns = uuid.uuid5(uuid.NAMESPACE_OID, f"bench-{copy}")
        for project, data in blobs:
            new = UUID_RE.sub(lambda m, ns=ns: str(uuid.uuid5(ns, m.group().decode())).encode(),
                              data)
            session = UUID_RE.search(new)
            name = (session.group().decode() if session else uuid.uuid4().hex) + ".jsonl"
            folder = dest / "projects" / f"{project}-{copy}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(new)
            n_files += 1
            n_bytes += len(new)
            if (target_bytes and n_bytes >= target_bytes) or (files and n_files >= files):
                return n_files, n_bytes
        copy += 1


def throughput(mb: int, repeat: int, background: bool) -> None:
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.run import run_import

    tree = Path(tempfile.mkdtemp(prefix="bpb-tree-", dir="/tmp"))
    n_files, n_bytes = replicate(tree, target_bytes=mb * 1_000_000)
    print(f"tree: {n_files} files, {n_bytes / 1e6:.1f} MB (fixture transcripts replicated)")
    rates = []
    for i in range(repeat):
        home = fresh_home()
        redis_server.start()
        try:
            t0 = time.perf_counter()
            result = run_import("claude_code", [tree], privacy_mode="standard",
                                       background_ingest=background)
            wall = time.perf_counter() - t0
            imp, ing = result.imported, result.ingested
            conn = sqlite3.connect(home / "telemetry.db")
            stored = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
            conn.close()
            assert stored == imp.events, (stored, imp.events)
            rate = imp.bytes_read / 1e6 / wall
            rates.append(rate)
            print(f"run {i + 1}: {imp.bytes_read / 1e6:.1f} MB, {imp.events} events -> "
                  f"{stored} rows in {wall:.2f}s = {rate:.1f} MB/s end to end "
                  f"({imp.events / wall:,.0f} events/s; import phase {imp.seconds:.2f}s, "
                  f"final ingest {ing.seconds:.2f}s)")
        finally:
            redis_server.stop()
            shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(tree, ignore_errors=True)
    how = "ingest in a second process" if background else "ingest after, in-process"
    print(f"transcript import ({how}): median {statistics.median(rates):.1f} MB/s "
          f"(target >= 20 MB/s) over {repeat} runs")


def rerun(files: int, repeat: int) -> None:
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.run import run_import

    tree = Path(tempfile.mkdtemp(prefix="bpb-tree-", dir="/tmp"))
    n_files, n_bytes = replicate(tree, files=files)
    home = fresh_home()
    redis_server.start()
    try:
        run_import("claude_code", [tree])
        lib, cli = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = run_import("claude_code", [tree])
            lib.append(time.perf_counter() - t0)
            assert result.imported.files_unchanged == n_files and result.imported.events == 0
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "blueplane_cli.main", "import", "claude-code",
                            "--claude-dir", str(tree), "--json"], check=True,
                           capture_output=True, env=os.environ.copy())
            cli.append(time.perf_counter() - t0)
        print(f"re-run over {n_files} unchanged files ({n_bytes / 1e6:.0f} MB): library "
              f"median {statistics.median(lib) * 1000:.0f} ms (incl. the no-op ingest), "
              f"whole CLI process median {statistics.median(cli) * 1000:.0f} ms "
              f"(target <= 1 s)")
    finally:
        redis_server.stop()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(tree, ignore_errors=True)


def cursor(composers: int, bubbles: int) -> None:
    """Cursor: a full import of a big store, then one changed bubble."""
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.run import run_import
    from tests import cursor_fixture

    home = fresh_home()
    redis_server.start()
    try:
        fx = cursor_fixture.build(home / "Cursor" / "User", workspaces=4,
                                  composers_per_workspace=composers // 4,
                                  bubbles_per_composer=bubbles)
        size = sum(p.stat().st_size for p in [fx.global_db, *fx.workspace_dbs])
        t0 = time.perf_counter()
        first = run_import("cursor", [fx.root])
        full = time.perf_counter() - t0
        cursor_fixture.update_bubble(fx, fx.bubble_keys[-1], "changed")
        t0 = time.perf_counter()
        change = run_import("cursor", [fx.root])
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_import("cursor", [fx.root])
        idle = time.perf_counter() - t0
        print(f"cursor: {size / 1e6:.1f} MB in {1 + len(fx.workspace_dbs)} databases, "
              f"{first.imported.events} events: full import {full:.2f}s; after one changed "
              f"bubble {one:.2f}s ({change.imported.events} event); unchanged {idle * 1000:.0f}"
              f" ms")
    finally:
        redis_server.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=100, help="size of the throughput tree (MB)")
    ap.add_argument("--files", type=int, default=1000, help="files in the re-run tree")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cursor-composers", type=int, default=200,
                    help="composers in the Cursor store (0 skips the Cursor figures)")
    ap.add_argument("--sequential", action="store_true",
                    help="also time the import with ingest after it in the same process")
    args = ap.parse_args()
    print_info()
    throughput(args.mb, args.repeat, background=True)
    if args.sequential:
        throughput(args.mb, args.repeat, background=False)
    rerun(args.files, args.repeat)
    if args.cursor_composers:
        cursor(args.cursor_composers, 50)


if __name__ == "__main__":
    main()
