"""Team mode benchmark: publishing a year of one developer's history, and the team reports
over 50 developers x a year, against the real Postgres.

Run:  python benchmarks/bench_team.py [--days 365] [--developers 50] [--repeat 5]
      [--pg postgresql://postgres@127.0.0.1:5432/postgres]

1. The usage benchmark's year (``bench_usage.generate``: 6 sessions a day, 30 API
   messages each, written as Claude Code writes them) is stored in a fresh
   ``telemetry.db``, and ``token_usage`` and the analytics tables are built, as on a
   laptop that ran the pipeline. The last 1 % of the events is held back.
2. A fresh database is created on the Postgres server; ``team publish`` runs into it the
   first time (target <= 10 s), again with nothing new (target <= 1 s), and after the
   held-back 1 % arrived and the laptop refreshed (target <= 1 s), each as a whole
   ``blueplane team publish`` process.
3. The published year is copied to 49 more devices/developers inside Postgres (each a
   little different), and ``blueplane team report daily|developers|projects|models
   --json`` are timed as whole cold processes, median of ``--repeat`` (target <= 1 s);
   so is one rebuild of the team rollups (what the team deployment runs).
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import print_info  # noqa: E402
from bench_usage import generate, store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def refresh_laptop(db: Path) -> float:
    from blueplane_pipeline.analytics.refresh import refresh_all
    from blueplane_pipeline.core.pricing import load_price_table
    from blueplane_pipeline.storage.db import open_db
    from blueplane_pipeline.usage.store import refresh

    t0 = time.perf_counter()
    conn = open_db(db)
    try:
        refresh(conn, load_price_table())
        refresh_all(conn)
    finally:
        conn.close()
    return time.perf_counter() - t0


def cli(env: dict, *args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "blueplane_cli.main", *args], cwd=REPO,
                         env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"blueplane {' '.join(args)} failed: {out.stdout}{out.stderr}")
    return elapsed, out.stdout


def replicate(url: str, developers: int) -> dict:
    """Copy the one published device's facts to ``developers - 1`` more, each scaled."""
    import psycopg2

    from blueplane_pipeline.team.schema import FACT_TABLES

    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT device_id FROM blueplane.devices")
        (source,) = cur.fetchone()
        for i in range(1, developers):
            device, dev = str(uuid.uuid4()), f"dev-bench{i:03d}"
            cur.execute("INSERT INTO blueplane.devices (device_id, developer, share,"
                        " blueplane_version) VALUES (%s, %s, 'all', 'bench')", (device, dev))
            for table in FACT_TABLES:
                cols = [n for n, _ in table.columns]
                scaled = {c: f"({c} * {1 + i % 7} / 4)::bigint" if c.endswith("_tokens") else
                          f"{c} * {(1 + i % 7) / 4}" if c == "cost_usd" else c for c in cols}
                scaled["developer"] = "%(dev)s"
                cur.execute(f"INSERT INTO {table.qualified} (device_id, {', '.join(cols)})"
                            f" SELECT %(device)s, {', '.join(scaled[c] for c in cols)}"
                            f" FROM {table.qualified} WHERE device_id = %(source)s",
                            {"device": device, "dev": dev, "source": source})
        cur.execute("ANALYZE")
        counts = {}
        for table in FACT_TABLES:
            cur.execute(f"SELECT count(*) FROM {table.qualified}")
            counts[table.table] = cur.fetchone()[0]
    conn.commit()
    conn.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--developers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default=os.environ.get(
        "BLUEPLANE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    import psycopg2

    print_info()
    admin = psycopg2.connect(args.pg)
    admin.autocommit = True
    print(f"postgres: {admin.server_version // 10000}.{admin.server_version % 10000}")
    name = f"bp_bench_team_{os.getpid()}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + "/" + name
    work = Path(tempfile.mkdtemp(prefix="bpt-bench-", dir="/tmp"))
    home = work / "home"
    home.mkdir()
    env = dict(os.environ, BLUEPLANE_HOME=str(home), BLUEPLANE_TEAM_URL=url)
    os.environ["BLUEPLANE_HOME"] = str(home)
    try:
        t0 = time.perf_counter()
        files, lines, size, envelopes = generate(work / "claude", args.days, 6, 30)
        extra = max(1, len(envelopes) // 100)
        base, late = envelopes[:-extra], envelopes[-extra:]
        db = home / "telemetry.db"
        store(db, base)
        built = refresh_laptop(db)
        print(f"laptop: {args.days} days, {files} sessions, {len(base)} events "
              f"({size / 1e6:.0f} MB of transcripts) stored and refreshed in "
              f"{time.perf_counter() - t0:.0f} s (analytics + token_usage {built:.0f} s)")

        first, out = cli(env, "team", "publish", "--json")
        stats = json.loads(out)
        kinds = ", ".join(f"{v['facts']} {k}" for k, v in stats["kinds"].items())
        print(f"team publish, first: {first:.2f} s process ({stats['seconds']:.2f} s inside),"
              f" {stats['upserted']} rows ({kinds}) -- target <= 10 s")
        same = [cli(env, "team", "publish", "--json") for _ in range(args.repeat)]
        print(f"team publish, nothing new: {statistics.median(t for t, _ in same):.2f} s "
              f"median of {args.repeat} ({json.loads(same[-1][1])['seconds']:.2f} s inside, "
              f"{json.loads(same[-1][1])['upserted']} rows) -- target <= 1 s")
        store(db, late)
        refresh_laptop(db)
        inc, out = cli(env, "team", "publish", "--json")
        stats = json.loads(out)
        print(f"team publish after +1 % events: {inc:.2f} s ({stats['seconds']:.2f} s inside,"
              f" {stats['upserted']} rows, {stats['deleted']} deleted) -- target <= 1 s")

        counts = replicate(url, args.developers)
        print(f"team store: {args.developers} developers x {args.days} days: "
              + ", ".join(f"{n} {t}" for t, n in counts.items()))
        for report in ("daily", "developers", "projects", "models"):
            times = [cli(env, "team", "report", report, "--json", "--timezone", "UTC")[0]
                     for _ in range(args.repeat)]
            print(f"team report {report} --json: {statistics.median(times):.3f} s median of "
                  f"{args.repeat} -- target <= 1 s")
        py = statistics.median(cli(env, "--version")[0] for _ in range(args.repeat))
        print(f"(blueplane --version: {py:.3f} s)")

        from blueplane_pipeline.team import pg, rollups

        conn = pg.open_store(url)
        t0 = time.perf_counter()
        for rollup in rollups.BUILDS:
            rollups.rebuild(conn, rollup)
        print(f"team rollups rebuilt from scratch: {time.perf_counter() - t0:.2f} s")
        conn.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
