"""Datasette benchmark: dashboard charts, canned queries and busy pages on a 1M-event db.

Run:  python benchmarks/bench_datasette.py [--db PATH] [--sessions 20000]

Requests go through Datasette's own ASGI client (no network) with the metadata, plugin and
settings ``blueplane serve`` uses; each is timed once after one warm-up request. The
database comes from ``gen_analytics.py`` (~20k sessions, ~94k turns, ~300k tool calls).
Datasette's per-query limit is ``sql_time_limit_ms`` (5 s here): every figure must stay
well below it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import print_info  # noqa: E402
from gen_analytics import bench_home  # noqa: E402

from blueplane_pipeline.datasette.config import (  # noqa: E402
    DASHBOARD_SLUG,
    PLUGINS_DIR,
    SETTINGS,
    build_metadata,
    tables_in,
)
from blueplane_pipeline.datasette.queries import CANNED_QUERIES, DASHBOARD_CHARTS  # noqa: E402


async def timed(ds, path: str) -> tuple[int, float]:
    await ds.client.get(path)
    t0 = time.perf_counter()
    response = await ds.client.get(path)
    return response.status_code, time.perf_counter() - t0


async def run(db: Path) -> None:
    from datasette.app import Datasette

    ds = Datasette([str(db)], metadata=build_metadata(db.stem, tables_in(db)),
                   plugins_dir=str(PLUGINS_DIR), settings=SETTINGS)
    name = db.stem
    paths = [(f"chart {slug}", f"/{name}.json?sql="
              + quote(re.sub(r"\[\[.*?\]\]", "", chart["query"])))
             for slug, chart in DASHBOARD_CHARTS.items()]
    paths += [(f"query {q}", f"/{name}/{q}.json?since=&session_id=x") for q in CANNED_QUERIES]
    paths += [(f"page {p}", p) for p in (f"/{name}", f"/{name}/tool_calls",
                                         f"/{name}/sessions", f"/-/dashboards/{DASHBOARD_SLUG}")]
    worst = 0.0
    for label, path in paths:
        status, seconds = await timed(ds, path)
        worst = max(worst, seconds)
        print(f"{label:<40} {status} {seconds * 1000:>7.0f} ms")
    limit = SETTINGS["sql_time_limit_ms"] / 1000
    print(f"slowest {worst:.2f} s; sql_time_limit_ms {limit:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="existing database to reuse (else generated)")
    ap.add_argument("--sessions", type=int, default=20_000)
    args = ap.parse_args()
    home = bench_home(args.db, sessions=args.sessions, prefix="bp-bench-ds-")
    print_info()
    try:
        asyncio.run(run(home / "telemetry.db"))
    finally:
        shutil.rmtree(home, ignore_errors=True)  # a generated db is ~340 MB


if __name__ == "__main__":
    main()
