"""What budgets cost the hook: its wall time without a budget (before and after the budget
check existed), with a budget set, and with an enforced budget that is over (the hook then
answers with a denial).

Run:  python benchmarks/bench_budget_hook.py [--runs 60] [--base REV]

``--base`` (default: the commit before ``capture/budget_gate.py`` was added) is exported
with ``git archive`` into a temp folder: the hook runs as ``python -S run_hook.py`` on the
standard library alone, so the old tree needs no install. Every variant gets the same real
PreToolUse payloads (tests/fixtures/real/hook_payloads) and XADDs to one embedded Redis;
runs are interleaved round-robin so machine load hits every variant alike.
Target (issue 14): no budget = the same cost as before.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import print_info  # noqa: E402
from bench_hook import payloads  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def base_rev() -> str:
    added = subprocess.run(["git", "-C", str(REPO), "log", "--format=%H", "--diff-filter=A",
                            "-1", "--", "blueplane_pipeline/capture/budget_gate.py"],
                           capture_output=True, text=True, check=True).stdout.strip()
    rev = f"{added}^" if added else "HEAD"
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", rev], capture_output=True,
                          text=True, check=True).stdout.strip()


def export(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "blueplane_pipeline"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    compileall.compile_dir(str(into / "blueplane_pipeline"), quiet=1)
    return into / "blueplane_pipeline" / "capture" / "run_hook.py"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--base", default=None)
    args = parser.parse_args()
    print_info()
    compileall.compile_dir(str(REPO / "blueplane_pipeline"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="bpb-", dir="/tmp"))
    rev = args.base or base_rev()
    old_hook = export(rev, work)
    new_hook = REPO / "blueplane_pipeline" / "capture" / "run_hook.py"
    homes = {name: work / name for name in ("redis", "none-old", "none", "budget", "enforced")}
    for h in homes.values():
        h.mkdir(mode=0o700)
    os.environ["BLUEPLANE_HOME"] = str(homes["redis"])
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    from blueplane_pipeline.budgets import evaluate, spend, store
    from blueplane_pipeline.core import config
    from blueplane_pipeline.runtime import redis_server

    now = int(time.time() * 1000)
    today = evaluate.local_days(now, "daily")[0]
    for name, amount, enforce in (("budget", 50.0, False), ("enforced", 5.0, True)):
        store.save(str(homes[name] / config.BUDGETS_FILE),
                   store.upsert({"budgets": []}, "daily", amount, None, enforce))
        spend.write({"generated_at_ms": now, "days": {today: {"*": 12.5}}, "block": None,
                     "sessions": {}}, str(homes[name] / config.SPEND_FILE))
    pre = [p for p in payloads() if json.loads(p).get("hook_event_name") == "PreToolUse"]
    py = sys.executable
    variants = {
        "python -S -c pass": ([py, "-S", "-c", "pass"], homes["none"]),
        f"hook before ({rev[:10]}), no budget": ([py, "-S", str(old_hook), "claude-code"],
                                                homes["none-old"]),
        "hook now, no budget": ([py, "-S", str(new_hook), "claude-code"], homes["none"]),
        "hook now, daily budget (25 %)": ([py, "-S", str(new_hook), "claude-code"],
                                          homes["budget"]),
        "hook now, enforced budget over (denies)": ([py, "-S", str(new_hook), "claude-code"],
                                                    homes["enforced"]),
    }
    try:
        redis_server.start()
        base_env = dict(os.environ, BLUEPLANE_REDIS_URL=config.redis_url())
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        times: dict[str, list[float]] = {n: [] for n in variants}
        answers: dict[str, str] = {}
        for i in range(args.runs):
            data = pre[i % len(pre)]
            for name, (cmd, home) in variants.items():
                env = dict(base_env, BLUEPLANE_HOME=str(home))
                t = time.perf_counter()
                proc = subprocess.run(cmd, input=data, capture_output=True, env=env, check=True)
                times[name].append((time.perf_counter() - t) * 1000)
                answers[name] = proc.stdout.decode()[:60]
        print(f"PreToolUse payloads: {len(pre)} real ones; runs per variant: {args.runs}; "
              f"Redis up (XADD)")
        base = statistics.median(times["python -S -c pass"])
        for name, values in times.items():
            med = statistics.median(values)
            print(f"  {name:44} median {med:6.1f} ms  p95 {p95(values):6.1f} ms  "
                  f"{med / base:5.2f}x  stdout {answers[name]!r}")
    finally:
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
