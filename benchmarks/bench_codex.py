"""Codex rollout benchmark: import throughput, an unchanged re-run, and ``usage daily
--agent codex`` over a year of rollouts beside ccusage on the same files.

Run:  python benchmarks/bench_codex.py [--days 365] [--per-day 4] [--files 1000] [--repeat 3]

The year is the real rollout Codex CLI 0.171.0 wrote (``tests/fixtures/codex/codex_home``,
exec + exec resume, 50 lines, 65 kB: its ~20 kB system prompt in ``session_meta`` is what
real rollouts carry) copied ``--per-day`` times a day with fresh thread ids and the day's
date, under ``sessions/YYYY/MM/DD/``. Targets (issue 12): import >= 20 MB/s (read, privacy
filter, XADD, ingest into raw_events, end to end); an unchanged re-run of 1,000 files
<= 1 s; ``usage daily --agent codex`` over the year <= 0.5 s.
"""

from __future__ import annotations

import argparse
import json
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
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import print_info  # noqa: E402
from bench_usage import ccusage_binary, timed_each  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SOURCE = next((REPO / "tests/fixtures/codex/codex_home/sessions").rglob("rollout-*.jsonl"))
UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DAY = b"2026-12-01"


def generate(home: Path, days: int, per_day: int, limit: int | None = None) -> tuple[int, int]:
    """(files, bytes) of a CODEX_HOME holding ``per_day`` rollouts a day for ``days`` days
    (or the first ``limit`` of them)."""
    data = SOURCE.read_bytes()
    start = date(2025, 12, 1)
    files = size = 0
    for d in range(days):
        day = start + timedelta(days=d)
        for n in range(per_day):
            ns = uuid.uuid5(uuid.NAMESPACE_OID, f"codex-bench-{d}-{n}")
            new = UUID_RE.sub(
                lambda m, ns=ns: str(uuid.uuid5(ns, m.group().decode())).encode(), data
            ).replace(DAY, day.isoformat().encode())
            new = new.replace(b"T07:48:", f"T{8 + n % 12:02d}:{n // 12 % 60:02d}:".encode())
            thread = UUID_RE.search(new).group().decode()
            folder = home / "sessions" / f"{day:%Y/%m/%d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"rollout-{day.isoformat()}T07-{n:02d}-00-{thread}.jsonl").write_bytes(new)
            files += 1
            size += len(new)
            if limit and files >= limit:
                return files, size
    return files, size


def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="bpc-", dir="/tmp"))
    os.environ["BLUEPLANE_HOME"] = str(home)
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    return home


def uptime() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=4)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-ccusage", action="store_true")
    args = ap.parse_args()
    print_info()
    print(f"load average before: {uptime()}")
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.run import run_import

    work = Path(tempfile.mkdtemp(prefix="bpc-work-", dir="/tmp"))
    year = work / "codex_home"
    files, size = generate(year, args.days, args.per_day)
    print(f"year: {files} rollouts, {size / 1e6:.1f} MB ({args.days} days x {args.per_day})")
    rates, home = [], None
    try:
        for i in range(args.repeat):
            if home is not None:
                shutil.rmtree(home, ignore_errors=True)
            home = fresh_home()
            redis_server.start()
            try:
                t0 = time.perf_counter()
                result = run_import("codex", [year])
                wall = time.perf_counter() - t0
            finally:
                redis_server.stop()
            imp = result.imported
            conn = sqlite3.connect(home / "telemetry.db")
            stored = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
            conn.close()
            rates.append(imp.bytes_read / 1e6 / wall)
            print(
                f"import run {i + 1}: {imp.bytes_read / 1e6:.1f} MB, {imp.events} events -> "
                f"{stored} rows in {wall:.2f} s = {rates[-1]:.1f} MB/s end to end"
            )
        print(f"codex import: median {statistics.median(rates):.1f} MB/s (target >= 20 MB/s)")

        # usage over the year (the home of the last import run)
        from blueplane_pipeline.core.pricing import load_price_table
        from blueplane_pipeline.storage.db import open_db
        from blueplane_pipeline.usage.store import refresh

        conn = open_db(home / "telemetry.db")
        stats = refresh(conn, load_price_table())
        conn.close()
        print(f"token_usage build: {stats.rows_changed} rows in {stats.seconds:.2f} s")
        env = dict(os.environ, BLUEPLANE_HOME=str(home), COLUMNS="120")
        cli = [
            sys.executable,
            "-m",
            "blueplane_cli.main",
            "usage",
            "daily",
            "--agent",
            "codex",
            "--json",
            "--timezone",
            "UTC",
        ]
        cmds = [cli]
        binary = None if args.no_ccusage else ccusage_binary()
        cenv = dict(env, CODEX_HOME=str(year))
        if binary:
            cmds.append([binary, "codex", "daily", "--json", "--offline", "--timezone", "UTC"])
        results = timed_each(cmds, cenv, args.repeat)
        ours = json.loads(results[0][1])
        print(
            f"blueplane usage daily --agent codex --json: {results[0][0]:.3f} s median of "
            f"{args.repeat} ({len(ours['daily'])} days; CPU {results[0][2]:.3f} s) -- "
            f"target <= 0.5 s"
        )
        if binary:
            theirs = json.loads(results[1][1])
            keys = (
                "inputTokens",
                "cacheReadTokens",
                "outputTokens",
                "reasoningOutputTokens",
                "totalTokens",
            )
            same = all(ours["totals"][k] == theirs["totals"][k] for k in keys)
            diff = abs(ours["totals"]["costUSD"] - theirs["totals"]["costUSD"]) / max(
                theirs["totals"]["costUSD"], 1e-12
            )
            print(
                f"ccusage 20.0.24 codex daily --json (native binary, same files): "
                f"{results[1][0]:.3f} s (CPU {results[1][2]:.3f} s); totals equal: tokens "
                f"{'yes' if same else 'NO'}, cost within {diff:.2e} relative"
            )

        # an unchanged re-run of --files rollouts
        shutil.rmtree(home, ignore_errors=True)
        home = fresh_home()
        tree = work / "rerun_home"
        n, tree_size = generate(tree, args.days, args.per_day, limit=args.files)
        redis_server.start()
        try:
            run_import("codex", [tree])
            lib, proc = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                again = run_import("codex", [tree])
                lib.append(time.perf_counter() - t0)
                assert again.imported.files_unchanged == n and again.imported.events == 0
                t0 = time.perf_counter()
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "blueplane_cli.main",
                        "import",
                        "codex",
                        "--codex-home",
                        str(tree),
                        "--json",
                    ],
                    check=True,
                    capture_output=True,
                    env=os.environ.copy(),
                )
                proc.append(time.perf_counter() - t0)
        finally:
            redis_server.stop()
        print(
            f"re-run over {n} unchanged rollouts ({tree_size / 1e6:.0f} MB): library median "
            f"{statistics.median(lib) * 1000:.0f} ms, whole CLI process median "
            f"{statistics.median(proc) * 1000:.0f} ms (target <= 1 s)"
        )
    finally:
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {uptime()}")


if __name__ == "__main__":
    main()
