"""Synthetic analytics tables at the scale of a 1M-event database, for reader benchmarks.

Run:  python benchmarks/gen_analytics.py OUT.db [--sessions 20000] [--days 180]

A 1M-event Claude Code history is about 20k sessions, 100k prompts, 300k tool calls,
60k edits and 200k deduplicated API messages. This writes rows of those shapes into the
committed schema (``migrate`` + the ``token_usage`` DDL) and the rollups
(``metrics_daily``, ``tool_metrics``) computed from them, so the readers meet realistic
table sizes and value spreads. The raw events themselves are not generated: readers never
touch them. Deterministic for a given seed. Data ends today (UTC), so 7d/30d windows hit.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from blueplane_pipeline.read.latency import latency_percentiles  # noqa: E402
from blueplane_pipeline.storage.db import open_db  # noqa: E402

# (tool, weight, median latency ms, is_edit)
TOOLS = [
    ("Read", 30, 40, 0), ("Bash", 20, 1800, 0), ("Edit", 14, 120, 1), ("Grep", 10, 90, 0),
    ("Write", 4, 110, 1), ("Glob", 5, 60, 0), ("TodoWrite", 5, 15, 0), ("WebFetch", 3, 2500, 0),
    ("Task", 2, 45000, 0), ("MultiEdit", 2, 150, 1), ("mcp__github__search_code", 3, 900, 0),
    ("NotebookEdit", 1, 200, 1), ("LS", 1, 30, 0),
]
MODELS = [("claude-sonnet-4-5", 6), ("claude-opus-4-1", 2), ("claude-haiku-4-5", 2),
          ("gpt-5", 1)]
STATUSES = [("success", 900), ("error", 60), ("rejected", 20), ("interrupted", 15),
            ("pending", 5)]
EXTS = [".py", ".ts", ".tsx", ".md", ".json", ".rs", ".go", ".sql", ".yaml", ""]
ERROR_CLASSES = {"error": ["exit_code", "not_found", "string_not_found", "file_not_read",
                           "timeout", "input_validation"],
                 "rejected": ["user_rejected", "permission_denied"],
                 "interrupted": ["user_interrupted"]}
PRICES = {"claude-sonnet-4-5": (3e-6, 15e-6), "claude-opus-4-1": (15e-6, 75e-6),
          "claude-haiku-4-5": (1e-6, 5e-6), "gpt-5": (1.25e-6, 10e-6)}


def _iso(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _pick(rng: random.Random, weighted: list) -> tuple:
    return rng.choices(weighted, weights=[w[1] for w in weighted])[0]


class _Roll:
    """Accumulates one metrics_daily / tool_metrics group."""

    def __init__(self) -> None:
        self.c: dict[str, float] = defaultdict(float)
        self.lat: list[float] = []
        self.sessions: set[str] = set()
        self.mcp: str | None = None


def generate(path: Path | str, *, sessions: int = 20_000, days: int = 180, seed: int = 7,
             projects: int = 30, now: datetime | None = None) -> dict:
    """Write the tables into ``path`` (a new file); return row counts."""
    rng = random.Random(seed)
    conn = open_db(path)
    now = now or datetime.now(UTC)
    end_ms = int(now.timestamp() * 1000)
    start_ms = end_ms - days * 86_400_000
    project_list = [f"/home/dev/src/project-{i:02d}" for i in range(projects)]
    daily: dict[tuple, _Roll] = defaultdict(_Roll)
    per_tool: dict[tuple, _Roll] = defaultdict(_Roll)
    rows = defaultdict(list)
    for s in range(sessions):
        sid = f"{rng.getrandbits(128):032x}"
        sid = f"{sid[:8]}-{sid[8:12]}-{sid[12:16]}-{sid[16:20]}-{sid[20:]}"
        platform = "cursor" if rng.random() < 0.15 else "claude_code"
        project = rng.choice(project_list[: max(1, int(projects * (0.3 + 0.7 * s / sessions)))])
        model = _pick(rng, MODELS)[0]
        t = rng.randrange(start_ms, end_ms - 3_600_000)
        started = t
        n_turns = max(1, min(40, int(rng.expovariate(1 / 5))))
        sess = defaultdict(float)
        for turn in range(n_turns):
            turn_start = t
            turn_c = defaultdict(int)
            timeline = []
            for _ in range(max(0, int(rng.expovariate(1 / 3.7)))):
                name, _w, median, is_edit = _pick(rng, TOOLS)
                status = _pick(rng, STATUSES)[0]
                latency = round(median * math.exp(rng.gauss(0, 0.9)), 1)
                t += int(rng.expovariate(1 / 4000)) + 200
                call_start = t
                if status != "pending":
                    t += int(latency)
                ext = rng.choice(EXTS)
                file_path = f"src/mod{rng.randrange(200)}{ext}" if name in (
                    "Read", "Edit", "Write", "MultiEdit", "NotebookEdit") else None
                executed = is_edit and status == "success"
                added = rng.randrange(1, 60) if executed else 0
                removed = rng.randrange(0, 30) if executed else 0
                modified = int(executed and rng.random() < 0.08)
                day = _iso(call_start)[:10]
                tuid = f"toolu_{rng.getrandbits(96):024x}"
                rows["tool_calls"].append((
                    tuid, sid, platform, project, model, turn, name,
                    "github" if name.startswith("mcp__") else None, is_edit, 0,
                    _iso(call_start),
                    None if status == "pending" else _iso(call_start + int(latency)),
                    day, None if status == "pending" else latency, "duration_ms", status,
                    rng.choice(ERROR_CLASSES[status]) if status in ERROR_CLASSES else None,
                    "Exit code 1" if status == "error" else None,
                    file_path, ext if file_path else "", added, removed, modified, 0, "hook"))
                if is_edit:
                    rows["file_edits"].append((
                        tuid, sid, platform, project, model, _iso(call_start), day, name,
                        file_path, ext, int(name == "Write" and rng.random() < 0.3), status,
                        1 if executed else (0 if status == "rejected" else None), modified,
                        added, removed, int(executed and rng.random() < 0.1)))
                timeline.append({"t": _iso(call_start), "kind": "tool", "tool_use_id": tuid,
                                 "tool": name, "status": status, "latency_ms": latency})
                roll = daily[(day, platform, project, model)]
                roll.c["tool_calls"] += 1
                roll.c[f"tool_{'errors' if status == 'error' else status}"] += 1
                roll.c["edits_accepted"] += executed
                roll.c["edits_rejected"] += bool(is_edit and status == "rejected")
                roll.c["edits_user_modified"] += modified
                roll.c["lines_added"] += added
                roll.c["lines_removed"] += removed
                if status != "pending":
                    roll.lat.append(latency)
                tr = per_tool[(day, name)]
                tr.c["calls"] += 1
                tr.c[{"error": "errors"}.get(status, status)] += 1
                tr.c["lines_added"] += added
                tr.c["lines_removed"] += removed
                tr.c["is_edit"] = is_edit
                tr.mcp = "github" if name.startswith("mcp__") else None
                tr.sessions.add(sid)
                if status != "pending":
                    tr.lat.append(latency)
                turn_c["calls"] += 1
                turn_c[status] += 1
                turn_c["acc"] += executed
                turn_c["rej"] += bool(is_edit and status == "rejected")
                turn_c["mod"] += modified
                turn_c["added"] += added
                turn_c["removed"] += removed
            msgs = 1 + turn_c["calls"] // 2
            for _ in range(msgs):
                t += int(rng.expovariate(1 / 6000)) + 500
                inp, out = rng.randrange(5, 400), rng.randrange(50, 3000)
                cw, cr = rng.randrange(0, 20000), rng.randrange(1000, 150000)
                pin, pout = PRICES[model]
                cost = inp * pin + out * pout + cw * 1.25 * pin + cr * 0.1 * pin
                mid = f"msg_{rng.getrandbits(96):024x}"
                if platform == "claude_code":
                    rows["token_usage"].append((
                        f"{mid}:req", mid, "req", sid, sid, project.replace("/", "-"), model,
                        model, _iso(t), t, inp, out, cw, cw, 0, cr, inp + out + cw + cr,
                        cost, "computed", None, 0, f"{sid}.jsonl", 1, 0, platform))
                    roll = daily[(_iso(t)[:10], platform, project, model)]
                    for k, v in (("input_tokens", inp), ("output_tokens", out),
                                 ("cache_creation_tokens", cw), ("cache_read_tokens", cr),
                                 ("total_tokens", inp + out + cw + cr), ("cost_usd", cost)):
                        roll.c[k] += v
                        sess[k] += v
            t += rng.randrange(200, 4000)
            duration = (t - turn_start) / 1000
            active = min(duration, 300 * (1 + turn_c["calls"]))
            tday = _iso(turn_start)[:10]
            rows["turns"].append((
                sid, turn, platform, project, model, tday, _iso(turn_start), _iso(t), duration,
                active, f"please change feature {rng.randrange(1000)}", 40, "hook", msgs,
                turn_c["calls"], turn_c["error"], turn_c["rejected"], turn_c["interrupted"],
                turn_c["acc"], turn_c["rej"], turn_c["added"], turn_c["removed"],
                int(turn_c["interrupted"] > 0), json.dumps(timeline)))
            roll = daily[(tday, platform, project, model)]
            roll.c["prompts"] += 1
            roll.c["active_s"] += active
            for k, v in turn_c.items():
                sess[k] += v
            sess["active_s"] += active
            sess["msgs"] += msgs
            t += int(rng.expovariate(1 / 60000))
        acc, rej = sess["acc"], sess["rej"]
        sday = _iso(started)[:10]
        daily[(sday, platform, project, model)].c["sessions"] += 1
        rows["sessions"].append((
            sid, platform, "hook,transcript", project, project.rsplit("/", 1)[-1], "main",
            model, model, f"Work on feature {rng.randrange(1000)}", _iso(started), _iso(t), sday,
            (t - started) / 1000, sess["active_s"], int(sess["calls"] * 3 + n_turns * 4), n_turns,
            int(sess["msgs"]), int(sess["calls"]), int(sess["success"]), int(sess["error"]),
            int(sess["rejected"]), int(sess["interrupted"]), int(sess["pending"]), int(acc),
            int(rej), int(sess["mod"]), acc / (acc + rej) if acc + rej else None,
            int(sess["added"]), int(sess["removed"]), int(sess["input_tokens"]),
            int(sess["output_tokens"]), int(sess["cache_creation_tokens"]),
            int(sess["cache_read_tokens"]), sess["cost_usd"], 0, 0, 0, "prompt_input_exit"))
    for key, roll in daily.items():
        c = roll.c
        executed = c["tool_success"] + c["tool_errors"]
        decided = c["edits_accepted"] + c["edits_rejected"]
        pct = latency_percentiles(roll.lat)
        rows["metrics_daily"].append((
            *key[:3], key[2].rsplit("/", 1)[-1], key[3], c["sessions"], c["prompts"],
            c["active_s"], c["tool_calls"], c["tool_success"], c["tool_errors"],
            c["tool_rejected"], c["tool_interrupted"], c["tool_pending"],
            c["tool_errors"] / executed if executed else None,
            c["tool_interrupted"] / c["tool_calls"] if c["tool_calls"] else None,
            c["edits_accepted"], c["edits_rejected"], c["edits_user_modified"],
            c["edits_accepted"] / decided if decided else None,
            c["edits_user_modified"] / c["edits_accepted"] if c["edits_accepted"] else None,
            c["lines_added"], c["lines_removed"], *pct.values(), c["input_tokens"],
            c["output_tokens"], c["cache_creation_tokens"], c["cache_read_tokens"],
            c["total_tokens"], c["cost_usd"]))
    for (day, name), roll in per_tool.items():
        c = roll.c
        executed = c["success"] + c["errors"]
        pct = latency_percentiles(roll.lat)
        rows["tool_metrics"].append((
            day, name, roll.mcp, len(roll.sessions), c["calls"], c["success"], c["errors"],
            c["rejected"], c["interrupted"], c["pending"],
            c["errors"] / executed if executed else None, c["rejected"] / c["calls"],
            c["interrupted"] / c["calls"],
            (c["success"] / (c["success"] + c["rejected"])
             if c["is_edit"] and c["success"] + c["rejected"] else None),
            c["lines_added"], c["lines_removed"], *pct.values(), max(roll.lat, default=None)))
    rows["insights"].append((
        "slow_tool:Task", "slow_tool", "info", "Task", "Task is the slowest tool",
        "p95 latency over the last 7 days", 120000.0, None, "{}", "SELECT 1",
        _iso(end_ms - 7 * 86_400_000)[:10], _iso(end_ms)[:10]))
    conn.execute("BEGIN")
    for table, values in rows.items():
        marks = ",".join("?" * len(values[0]))
        if table == "token_usage":
            # the generated rows fill the columns in table order after the id; columns
            # added later (speed, reasoning tokens) keep their defaults
            columns = [r[1] for r in conn.execute("PRAGMA table_info(token_usage)")]
            columns = columns[1 : 1 + len(values[0])]
            conn.executemany(f"INSERT INTO token_usage ({', '.join(columns)})"
                             f" VALUES ({marks})", values)
        else:  # the first columns: later migrations append columns (NULL here)
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            columns = columns[:len(values[0])]
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                             values)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {table: len(values) for table, values in rows.items()}


def bench_home(existing: Path | None, *, sessions: int = 20_000, prefix: str = "bp-bench-"
               ) -> Path:
    """A fresh BLUEPLANE_HOME whose telemetry.db is ``existing`` (linked) or generated."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    db = home / "telemetry.db"
    if existing:
        db.symlink_to(existing.resolve())
    else:
        t0 = time.perf_counter()
        counts = generate(db, sessions=sessions)
        print(f"generated in {time.perf_counter() - t0:.0f}s: "
              + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
    print(f"database: {db.resolve()} ({db.resolve().stat().st_size / 1e6:.0f} MB)")
    return home


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; pick a new path")
    t0 = time.perf_counter()
    counts = generate(args.out, sessions=args.sessions, days=args.days, seed=args.seed)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f}s: "
          + ", ".join(f"{k}={v:,}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
