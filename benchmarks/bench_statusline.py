"""Status line benchmark: `blueplane statusline` per call on a year of history, beside
`npx ccusage@20.0.24 statusline` on the same transcripts.

Run:  python benchmarks/bench_statusline.py [--days 365] [--sessions 6] [--messages 30]
                                            [--runs 60] [--no-ccusage]

1. A year of Claude Code transcripts ending now is generated (bench_usage.generate:
   ``--sessions`` a day of ``--messages`` API messages) and stored; token_usage and the
   session tables are built, then the spend file (``budgets.spend.compute`` + write: what
   the ``spend_state`` asset does after each refresh) and a daily budget.
2. The registered command (``python -S capture/run_statusline.py``) is run ``--runs``
   times with the statusline JSON the real CLI sends (tests/fixtures/statusline, its
   session id and transcript path pointed at the history's newest session), the embedded
   Redis up: once with the JSON changing every call (each call captures an event: the
   worst case; the capture runs in a child after the line is out) and once with it
   repeating (capture skipped), interleaved round-robin with ``python -S -c pass``, 50 ms
   apart; and once capturing in the process itself (what the whole job costs). Target
   (issue 14): p95 <= 30 ms per call.
3. ccusage 20.0.24's ``statusline`` is timed on the same stdin and transcripts: through
   ``npx`` (as its docs register it) and its native binary, with its cache (default) and
   ``--no-cache``.
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
from bench_usage import ccusage_binary, generate, store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RECORDED = REPO / "tests" / "fixtures" / "statusline" / "claude-code-2.1.328" / "session"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]


def line(name: str, values: list[float], base: float | None = None) -> None:
    med = statistics.median(values)
    extra = f"  ({med / base:.2f}x python -S -c pass)" if base else ""
    print(f"  {name:44} median {med:7.1f} ms   p95 {p95(values):7.1f} ms{extra}")


def run_many(cmds: dict[str, list[str]], stdin: dict[str, object], runs: int,
             env: dict, envs: dict[str, dict] | None = None,
             pause: float = 0.0) -> dict[str, list[float]]:
    """Round-robin runs; ``stdin[name]`` is bytes or a callable(i) -> bytes. ``pause``
    seconds after each run let a capture child finish before the next one is timed
    (Claude Code calls at most every 300 ms)."""
    times: dict[str, list[float]] = {n: [] for n in cmds}
    for i in range(runs):
        for name, cmd in cmds.items():
            data = stdin[name](i) if callable(stdin[name]) else stdin[name]
            t = time.perf_counter()
            proc = subprocess.run(cmd, input=data, capture_output=True,
                                  env=(envs or {}).get(name, env))
            times[name].append((time.perf_counter() - t) * 1000)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed: {proc.stderr.decode()[-500:]}")
            time.sleep(pause)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--no-ccusage", action="store_true")
    args = parser.parse_args()

    print_info()
    compileall.compile_dir(str(REPO / "blueplane_pipeline"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="bps-", dir="/tmp"))
    home, claude = work / "home", work / "claude"
    home.mkdir()
    os.environ["BLUEPLANE_HOME"] = str(home)
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    from blueplane_pipeline.analytics.refresh import refresh_all
    from blueplane_pipeline.budgets import spend
    from blueplane_pipeline.budgets import store as budgets
    from blueplane_pipeline.core import config
    from blueplane_pipeline.core.pricing import load_price_table
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.storage.db import open_db
    from blueplane_pipeline.usage.store import refresh as refresh_usage

    try:
        # Sessions start at 08:00 + 1.5 h × n of each generated day: shift the days so the
        # last one's last session started 1.5 h ago (nothing in the future, a block open).
        start = time.time() - (args.days - 1) * 86400 - 8 * 3600 - args.sessions * 5400
        t0 = time.perf_counter()
        files, lines, size, envelopes = generate(claude, args.days, args.sessions,
                                                 args.messages, start=start)
        print(f"history: {args.days} days ending today, {files} files, {lines} lines, "
              f"{size / 1e6:.1f} MB ({time.perf_counter() - t0:.1f} s to generate)")
        db = home / "telemetry.db"
        store(db, envelopes)
        conn = open_db(db)
        refresh_usage(conn, load_price_table())
        refresh_all(conn)
        rows = conn.execute("SELECT count(*) FROM token_usage").fetchone()[0]
        times = []
        for _ in range(5):
            t = time.perf_counter()
            data = spend.compute(conn)
            times.append((time.perf_counter() - t) * 1000)
        spend.write(data)
        newest = conn.execute("SELECT session_id, project FROM token_usage WHERE ts_ms <= ?"
                              " ORDER BY ts_ms DESC LIMIT 1",
                              (int(time.time() * 1000),)).fetchone()
        conn.close()
        print(f"token_usage: {rows} rows; spend.json computed in "
              f"{statistics.median(times):.1f} ms (median of 5): today "
              f"${max(data['days'].items())[1]['*']:.2f}, block "
              f"{'active' if data['block'] else 'none'}, "
              f"{os.path.getsize(config.spend_path_str())} bytes")
        budgets.save(config.budgets_path_str(),
                     budgets.upsert({"budgets": []}, "daily", 50.0, None, enforce=False))

        doc = json.loads((RECORDED / "004.json").read_text())
        sid, project = newest
        transcript = claude / "projects" / project / f"{sid}.jsonl"
        doc.update(session_id=sid, transcript_path=str(transcript), cwd="/home/dev/app")
        doc["workspace"] = {"current_dir": "/home/dev/app", "project_dir": "/home/dev/app",
                            "added_dirs": []}
        steady = json.dumps(doc).encode()

        def changing(i: int) -> bytes:
            d = json.loads(steady)
            d["cost"]["total_cost_usd"] += i / 1000  # a new answer: a new event each call
            return json.dumps(d).encode()

        launcher = REPO / "blueplane_pipeline" / "capture" / "run_statusline.py"
        ours = [sys.executable, "-S", str(launcher)]
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        redis_server.start()
        sample = subprocess.run(ours, input=steady, capture_output=True, env=env).stdout
        print(f"the line: {sample.decode().strip()!r}")
        print(f"\nblueplane statusline, {args.runs} runs each, embedded Redis up:")
        names = {"python -S -c pass": ([sys.executable, "-S", "-c", "pass"], b""),
                 "statusline, JSON changes (captures after exit)": (ours, changing),
                 "statusline, JSON repeats (capture skipped)": (ours, steady),
                 "statusline, JSON changes, capture in process": (ours, changing)}
        fg = dict(env, BLUEPLANE_STATUSLINE_FOREGROUND="1")
        t = run_many({n: c for n, (c, _) in names.items()},
                     {n: d for n, (_, d) in names.items()}, args.runs, env,
                     envs={"statusline, JSON changes, capture in process": fg}, pause=0.05)
        base = statistics.median(t["python -S -c pass"])
        for name, values in t.items():
            line(name, values, base if name != "python -S -c pass" else None)
        print("  target: p95 <= 30 ms per call")
        redis_server.stop()

        if args.no_ccusage or not shutil.which("npx"):
            return
        cenv = dict(os.environ, CLAUDE_CONFIG_DIR=str(claude))
        print("\nccusage 20.0.24 statusline on the same transcripts and stdin:")
        sample = subprocess.run(["npx", "-y", "ccusage@20.0.24", "statusline"], input=steady,
                                capture_output=True, env=cenv, timeout=300)
        print(f"  its line: {sample.stdout.decode().strip()!r}")
        cmds = {"npx ccusage@20.0.24 statusline (cached)":
                ["npx", "-y", "ccusage@20.0.24", "statusline"],
                "npx ccusage@20.0.24 statusline --no-cache":
                ["npx", "-y", "ccusage@20.0.24", "statusline", "--no-cache"]}
        binary = ccusage_binary()
        if binary:
            cmds["native binary statusline (cached)"] = [binary, "statusline"]
            cmds["native binary statusline --no-cache"] = [binary, "statusline", "--no-cache"]
        runs = max(5, args.runs // 4)
        t = run_many(cmds, dict.fromkeys(cmds, steady), runs, cenv)
        for name, values in t.items():
            line(f"{name} ({runs} runs)", values)
    finally:
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
