"""blueplane-collector: ack latency, idle memory, sustained OTLP throughput, and what a hook
costs the real Claude Code CLI over HTTP vs as a command.

    python benchmarks/bench_collector.py [--acks 2000] [--events 200000] [--cli-runs 5]
                                         [--skip-cli] [--json out.json]

- ack: one hook POST (a real UserPromptSubmit body) and one OTLP batch (the CLI's real
  42 KB first logs batch, and a 2 KB metrics batch), each on a kept-alive connection to a
  collector subprocess with the embedded Redis: time from send to the full answer.
- rss: the collector's VmRSS idle after start, and after the ack run.
- sustained: synthetic OTLP/JSON logs batches (200 api_request records each, copied from
  a real one, every record its own session/sequence) POSTed by 4 client threads; then
  ingest (stream -> raw_events) and the OTel decoding (-> otel_log_events, api_requests).
  Events/s for the acks, for each stage, and end to end.
- cli: the scripted session of tests/e2e/record_claude_otel.py, interleaved runs of no
  hooks / `install claude-code` (command) / `--transport http` (SessionStart stays a
  command) / the same HTTP handlers without SessionStart, all with `--otel` so the CLI's
  own `hook_execution_complete.total_duration_ms` is stored too. Per-event cost =
  (median session - median without hooks) / hook events.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from _machine import print_info  # noqa: E402

from blueplane_pipeline.analytics.metrics import percentile  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
OTEL = FIXTURES / "otel" / "claude-code-2.1.328" / "http-json"
HOOKS = FIXTURES / "http_hooks" / "claude-code-2.1.328"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_collector(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "BLUEPLANE_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "blueplane_pipeline.collector.server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.025)
    raise RuntimeError("collector did not start")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def timed_posts(
    port: int, path: str, body: bytes, n: int, ctype: str = "application/json"
) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    out = []
    try:
        for _ in range(n):
            t = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            resp.read()
            out.append((time.perf_counter() - t) * 1000)
            assert resp.status == 200, resp.status
    finally:
        conn.close()
    return out


def pcts(ms: list[float]) -> dict:
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3),
    }


def bench_ack(port: int, n: int) -> dict:
    hook = json.dumps(
        json.loads((HOOKS / "001-UserPromptSubmit.json").read_text())["body"]
    ).encode()
    logs = (OTEL / "001-logs.json").read_bytes()
    metrics = (OTEL / "002-metrics.json").read_bytes()
    timed_posts(port, "/hook/claude-code", hook, 50)  # warm-up
    return {
        "hook_post": pcts(timed_posts(port, "/hook/claude-code", hook, n)),
        "otlp_logs_42kb": pcts(timed_posts(port, "/v1/logs", logs, n)),
        "otlp_metrics_1kb": pcts(timed_posts(port, "/v1/metrics", metrics, n)),
        "bytes": {"hook": len(hook), "logs": len(logs), "metrics": len(metrics)},
    }


def bench_store(n: int) -> dict:
    """Inside the request: building a hook envelope, the durable write (XADD), and a bare
    Redis PING on the same server, to tell the collector's cost from Redis's."""
    from blueplane_pipeline.capture import resp
    from blueplane_pipeline.capture.hook import envelope_line
    from blueplane_pipeline.collector.durable import DurableWriter
    from blueplane_pipeline.core import config

    body = json.dumps(
        json.loads((HOOKS / "001-UserPromptSubmit.json").read_text())["body"]
    ).encode()
    writer = DurableWriter()
    build, store, ping = [], [], []
    sock = resp.connect(config.redis_url(), 1.0)
    for _ in range(n):
        t = time.perf_counter()
        _, line = envelope_line("claude_code", body, "standard")
        t1 = time.perf_counter()
        writer.write([line])
        t2 = time.perf_counter()
        sock.sendall(resp.encode_command("PING"))
        resp.read_reply(sock)
        t3 = time.perf_counter()
        build.append((t1 - t) * 1000)
        store.append((t2 - t1) * 1000)
        ping.append((t3 - t2) * 1000)
    sock.close()
    return {"envelope": pcts(build), "xadd": pcts(store), "ping": pcts(ping)}


def _api_record() -> dict:
    doc = json.loads((OTEL / "003-logs.json").read_text())
    for rl in doc["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for rec in sl["logRecords"]:
                if rec["body"].get("stringValue") == "claude_code.api_request":
                    return rec
    raise RuntimeError("no api_request record in the fixture")


def synthetic_batches(events: int, per_batch: int = 200) -> list[bytes]:
    """OTLP/JSON logs exports: distinct sessions, sequences 0..per_batch-1 in each."""
    template = _api_record()
    resource = json.loads((OTEL / "003-logs.json").read_text())["resourceLogs"][0]["resource"]
    out = []
    for b in range(events // per_batch):
        records = []
        for i in range(per_batch):
            rec = copy.deepcopy(template)
            for attr in rec["attributes"]:
                if attr["key"] == "session.id":
                    attr["value"] = {"stringValue": f"bench-session-{b:06d}"}
                elif attr["key"] == "event.sequence":
                    attr["value"] = {"intValue": i}
                elif attr["key"] == "request_id":
                    attr["value"] = {"stringValue": f"req_{b}_{i}"}
            records.append(rec)
        out.append(
            json.dumps(
                {
                    "resourceLogs": [
                        {
                            "resource": resource,
                            "scopeLogs": [
                                {
                                    "scope": {"name": "com.anthropic.claude_code.events"},
                                    "logRecords": records,
                                }
                            ],
                        }
                    ]
                }
            ).encode()
        )
    return out


def bench_sustained(home: Path, port: int, events: int, threads: int = 4) -> dict:
    batches = synthetic_batches(events)
    per_batch = events // len(batches)
    chunks = [batches[i::threads] for i in range(threads)]
    lat: list[float] = []
    lock = threading.Lock()

    def send(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local = []
        for body in mine:
            t = time.perf_counter()
            conn.request(
                "POST", "/v1/logs", body=body, headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            local.append((time.perf_counter() - t) * 1000)
        conn.close()
        with lock:
            lat.extend(local)

    t0 = time.perf_counter()
    workers = [threading.Thread(target=send, args=(c,)) for c in chunks]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    post_s = time.perf_counter() - t0
    os.environ["BLUEPLANE_HOME"] = str(home)
    from blueplane_pipeline.core import config
    from blueplane_pipeline.ingest.drain import ingest
    from blueplane_pipeline.sources.otel.store import refresh
    from blueplane_pipeline.storage.db import open_db

    t = time.perf_counter()
    stats = ingest()
    ingest_s = time.perf_counter() - t
    conn = open_db(config.db_path())
    t = time.perf_counter()
    decoded = refresh(conn)
    decode_s = time.perf_counter() - t
    stored = conn.execute(
        "SELECT count(*) FROM otel_log_events WHERE session_id LIKE 'bench-session-%'"
    ).fetchone()[0]
    api = conn.execute("SELECT count(*) FROM api_requests").fetchone()[0]
    conn.close()
    total = len(batches) * per_batch
    return {
        "events": total,
        "batches": len(batches),
        "events_per_batch": per_batch,
        "client_threads": threads,
        "ack": {"seconds": round(post_s, 2), "events_per_s": round(total / post_s), **pcts(lat)},
        "ingest": {
            "seconds": round(ingest_s, 2),
            "exports": stats.events_stored,
            "events_per_s": round(total / ingest_s),
        },
        "decode": {
            "seconds": round(decode_s, 2),
            "events_per_s": round(total / decode_s),
            "log_events_stored": stored,
            "api_requests": api,
            "new_log_events": decoded.new_log_events,
        },
        "end_to_end_events_per_s": round(total / (post_s + ingest_s + decode_s)),
    }


# --- the real CLI -----------------------------------------------------------------------


def bench_cli(runs: int) -> dict:
    from click.testing import CliRunner
    from harness import ensure_cli
    from record_claude_otel import run_claude

    from blueplane_cli.main import cli
    from blueplane_pipeline.collector.server import serve
    from blueplane_pipeline.core import config
    from blueplane_pipeline.ingest.drain import ingest
    from blueplane_pipeline.runtime import redis_server
    from blueplane_pipeline.sources.otel.store import refresh
    from blueplane_pipeline.storage.db import open_db

    binary = ensure_cli()
    bp_home = Path(tempfile.mkdtemp(prefix="bp-bc-", dir="/tmp"))
    os.environ["BLUEPLANE_HOME"] = str(bp_home)
    redis_server.start()
    server = serve("127.0.0.1", 0)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runner = CliRunner()
    runner.invoke(cli, ["config", "set", "collector_port", str(port)])
    modes = {
        "none": [],
        "command": ["--otel"],
        "http": ["--otel", "--transport", "http"],
        "http_no_session_start": ["--otel", "--transport", "http"],
    }

    def one(mode: str) -> dict:
        workdir = Path(tempfile.mkdtemp(prefix=f"bc-{mode}-", dir="/tmp"))
        home = workdir / "home"
        (home / ".claude").mkdir(parents=True)
        os.environ["HOME"] = str(home)
        os.environ.pop("CLAUDE_CONFIG_DIR", None)
        args = modes[mode] or ["--otel"]
        result = runner.invoke(cli, ["install", "claude-code", *args])
        assert result.exit_code == 0, result.output
        settings_file = home / ".claude" / "settings.json"
        settings = json.loads(settings_file.read_text())
        if mode == "none":
            settings.pop("hooks", None)
        if mode == "http_no_session_start":
            settings["hooks"].pop("SessionStart", None)
        settings_file.write_text(json.dumps(settings))
        run = run_claude(binary, workdir, delay=0.0, extra_env={"BLUEPLANE_HOME": str(bp_home)})
        session = json.loads(run.stdout).get("session_id") if run.returncode == 0 else None
        return {
            "mode": mode,
            "seconds": run.seconds,
            "ok": run.returncode == 0,
            "session_id": session,
        }

    for mode in modes:  # warm-up
        one(mode)
    results = [one(mode) for _ in range(runs) for mode in modes]
    time.sleep(1.0)
    server.shutdown()
    ingest()
    conn = open_db(config.db_path())
    refresh(conn)
    by_session: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for sid, attrs in conn.execute(
        "SELECT session_id, attributes FROM otel_log_events"
        " WHERE event_name = 'hook_execution_complete'"
    ):
        a = json.loads(attrs)
        if a.get("hook_source") == "merged" or True:
            by_session.setdefault(sid, []).append(int(a.get("total_duration_ms") or 0))
    for sid, n in conn.execute(
        "SELECT session_id, count(*) FROM raw_events_view WHERE platform = 'claude_code' GROUP BY 1"
    ):
        counts[sid] = n
    conn.close()
    redis_server.stop()
    summary: dict = {}
    for mode in modes:
        rs = [r for r in results if r["mode"] == mode]
        secs = [r["seconds"] for r in rs]
        hook_ms = [m for r in rs for m in by_session.get(r["session_id"], [])]
        events = [counts.get(r["session_id"], 0) for r in rs]
        summary[mode] = {
            "median_s": round(statistics.median(secs), 3),
            "min_s": round(min(secs), 3),
            "max_s": round(max(secs), 3),
            "all_ok": all(r["ok"] for r in rs),
            "events_stored_per_run": sorted(set(events)),
            "cli_hook_total_duration_ms": {
                "n": len(hook_ms),
                "median": statistics.median(hook_ms) if hook_ms else None,
                "mean": round(statistics.mean(hook_ms), 1) if hook_ms else None,
            },
        }
    base = summary["none"]["median_s"]
    for mode in ("command", "http", "http_no_session_start"):
        ev = statistics.median(summary[mode]["events_stored_per_run"] or [0])
        summary[mode]["per_event_ms"] = (
            round((summary[mode]["median_s"] - base) / ev * 1000, 1) if ev else None
        )
    return {"runs_per_mode": runs, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acks", type=int, default=2000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print_info()
    from blueplane_pipeline.runtime import redis_server

    home = Path(tempfile.mkdtemp(prefix="bp-bench-col-", dir="/tmp"))
    os.environ["BLUEPLANE_HOME"] = str(home)
    redis_server.start()
    port = free_port()
    proc = start_collector(home, port)
    result: dict = {"loadavg_start": os.getloadavg()[0]}
    try:
        time.sleep(2.0)
        result["rss_idle_mb"] = rss_mb(proc.pid)
        result["ack"] = bench_ack(port, args.acks)
        result["store"] = bench_store(args.acks)
        result["rss_after_acks_mb"] = rss_mb(proc.pid)
        print(
            json.dumps(
                {k: result[k] for k in ("rss_idle_mb", "ack", "store", "rss_after_acks_mb")},
                indent=2,
            ),
            flush=True,
        )
        result["sustained"] = bench_sustained(home, port, args.events)
        result["rss_after_sustained_mb"] = rss_mb(proc.pid)
        print(
            json.dumps(
                {
                    "sustained": result["sustained"],
                    "rss_after_sustained_mb": result["rss_after_sustained_mb"],
                },
                indent=2,
            ),
            flush=True,
        )
    finally:
        proc.terminate()
        proc.wait()
        redis_server.stop()
    if not args.skip_cli:
        result["cli"] = bench_cli(args.cli_runs)
        print(json.dumps({"cli": result["cli"]}, indent=2), flush=True)
    result["loadavg_end"] = os.getloadavg()[0]
    print(f"load average: start {result['loadavg_start']:.2f}, end {result['loadavg_end']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
