"""MCP server benchmark: start-up over stdio and every read tool on a 1M-event-scale db.

Run:  python benchmarks/bench_mcp.py [--db PATH] [--sessions 20000] [--runs 3]

``blueplane-mcp`` is started as Claude Code starts it (a process on stdio); "start" is the
time from spawning it to the end of the initialize handshake and tools/list. Each tool is
then called ``runs`` times; the first call is shown apart (it builds the in-memory
full-text index for the search tools). The database comes from ``gen_analytics.py``
(~20k sessions, ~95k prompts, ~290k tool calls), periods are ``all`` (the worst case).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anyio  # noqa: E402
from _machine import print_info  # noqa: E402
from gen_analytics import bench_home  # noqa: E402

CALLS = [
    ("get_current_metrics", {"period": "all"}),
    ("get_current_metrics", {"period": "7d"}),
    ("get_tool_performance", {"period": "all"}),
    ("analyze_acceptance_patterns", {"period": "all"}),
    ("get_error_patterns", {"period": "all"}),
    ("analyze_productivity", {"period": "all"}),
    ("get_contextual_insights", {"file_ext": ".py", "period": "all"}),
    ("search_sessions", {"text": "fix failing test in parser"}),
    ("search_similar_tasks", {"task": "fix failing test in parser"}),
    ("find_successful_patterns", {"period": "all"}),
    ("recommend_tools", {"file_ext": ".py", "period": "all"}),
    ("recommend_tools", {"task": "refactor the auth module", "period": "all"}),
    ("suggest_strategy", {"task": "refactor the auth module", "period": "all"}),
]


async def run(home: Path, runs: int) -> None:
    from mcp import Client, StdioServerParameters

    exe = Path(sys.executable).with_name("blueplane-mcp")
    params = StdioServerParameters(command=str(exe), env={"BLUEPLANE_HOME": str(home)})
    t0 = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        await client.list_tools()
        print(f"start (spawn -> initialize -> tools/list): {(time.perf_counter() - t0):.2f} s")
        print(f"{'tool':<58} {'first':>9} {'median':>9}")
        for name, args in CALLS:
            times = []
            for _ in range(runs + 1):
                t1 = time.perf_counter()
                result = await client.call_tool(name, args)
                times.append(time.perf_counter() - t1)
                if result.is_error:
                    sys.exit(f"{name} failed: {result.content[0].text}")
            label = f"{name} {args}"[:58]
            median = statistics.median(times[1:])
            print(f"{label:<58} {times[0] * 1000:>7.0f}ms {median * 1000:>7.0f}ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="existing database to reuse (else generated)")
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    home = bench_home(args.db, sessions=args.sessions, prefix="bp-bench-mcp-")
    print_info()
    try:
        anyio.run(run, home, args.runs)
    finally:
        shutil.rmtree(home, ignore_errors=True)  # a generated db is ~340 MB


if __name__ == "__main__":
    main()
