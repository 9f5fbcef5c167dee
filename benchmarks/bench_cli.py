"""CLI report benchmark: ``blueplane metrics`` cold on a 1M-event-scale database.

Run:  python benchmarks/bench_cli.py [--db PATH] [--runs 7]

Target (DESIGN.md): ``blueplane metrics`` cold <= 0.5 s on a 1M-event database. "Cold" is
a new ``blueplane`` process each run (interpreter start, imports, opening the database,
the queries, rendering), timed from outside, as a user would feel it. The database holds
the analytics tables at the scale of ~1M captured events (20k sessions, ~290k tool calls,
~95k prompts, ~160k API messages; ``gen_analytics.py``); the raw events themselves are not
generated because no report reads them. The OS page cache is warm after the first run
(dropping it would disturb other processes); the first run is printed separately. It also
writes the bytecode caches an installed package has (``PYTHONDONTWRITEBYTECODE`` is
dropped for the timed processes, else every run would compile every module again). CPU
seconds (user + system of the process) are printed beside wall time: on a shared machine
they move much less with the load.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import print_info  # noqa: E402
from gen_analytics import bench_home  # noqa: E402

COMMANDS = [
    ["metrics"],
    ["metrics", "--period", "24h"],
    ["metrics", "--period", "30d", "--group-by", "day"],
    ["metrics", "--period", "all"],
    ["metrics", "--period", "all", "--group-by", "tool"],
    ["sessions"],
    ["tools", "--period", "30d"],
    ["insights"],
    ["metrics", "--json"],
]
TARGET_S = 0.5


def blueplane() -> list[str]:
    exe = Path(sys.executable).with_name("blueplane")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "blueplane_cli.main"]


def time_run(args: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole ``blueplane`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(blueplane() + args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"blueplane {' '.join(args)} failed: {proc.stderr.strip()}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def bare_python(env: dict, runs: int) -> float:
    return statistics.median(
        _timed([sys.executable, "-c", "pass"], env) for _ in range(runs))


def _timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="existing database to reuse (else generated)")
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    home = bench_home(args.db, sessions=args.sessions, prefix="bp-bench-cli-")
    print_info()
    env = {**os.environ, "BLUEPLANE_HOME": str(home), "COLUMNS": "120"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"python -c pass (median): {bare_python(env, args.runs) * 1000:.0f} ms")
    print(f"{'command':<48} {'first':>8} {'median':>8} {'max':>8} {'cpu':>8}")
    verdict = None
    for cmd in COMMANDS:
        first, _ = time_run(cmd, env)
        runs = [time_run(cmd, env) for _ in range(args.runs)]
        times = [wall for wall, _ in runs]
        median = statistics.median(times)
        cpu = statistics.median(c for _, c in runs)
        print(f"{'blueplane ' + ' '.join(cmd):<48} {first * 1000:>6.0f}ms {median * 1000:>6.0f}ms"
              f" {max(times) * 1000:>6.0f}ms {cpu * 1000:>6.0f}ms")
        if cmd == ["metrics"]:
            verdict = median
    print(f"target: blueplane metrics <= {TARGET_S} s -> median {verdict:.3f} s: "
          f"{'PASS' if verdict <= TARGET_S else 'FAIL'}")


if __name__ == "__main__":
    main()
