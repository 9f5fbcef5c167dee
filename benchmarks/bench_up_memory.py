"""Memory of everything `blueplane up` starts, idle (target <= 500 MB), and how long a hook
event takes to show in `sessions`/`tool_calls` under it (target <= 60 s).

    python benchmarks/bench_up_memory.py [--idle 30]

Runs in a temporary BLUEPLANE_HOME on free ports; stops everything afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=float, default=30.0, help="seconds to sit idle before measuring")
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="bp-mem-", dir="/tmp")
    env = {**os.environ, "BLUEPLANE_HOME": home}
    env.pop("BLUEPLANE_REDIS_URL", None)
    os.environ.update(env)
    from blueplane_pipeline.core import config
    from blueplane_pipeline.runtime import redis_server, services
    from blueplane_pipeline.runtime.processes import rss_mb

    cmd = [str(BIN / "blueplane"), "up", "--ui", "--dagster-port", str(free_port()),
           "--datasette-port", str(free_port())]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    print(f"machine: {machine()}")
    print(f"blueplane up ready in {time.perf_counter() - t0:.1f}s")
    try:
        time.sleep(args.idle)
        total = 0.0
        for name in ("blueplane-daemon", "dagster-code", "dagster-webserver", "datasette"):
            pid = services.read_pid(name)
            mb = rss_mb(pid) if pid else 0.0
            total += mb
            print(f"  {name:18} {mb:7.1f} MB")
        rpid = redis_server.read_pid()
        rmb = rss_mb(rpid) if rpid else 0.0
        total += rmb
        print(f"  {'redis':18} {rmb:7.1f} MB")
        print(f"idle total after {args.idle:.0f}s: {total:.1f} MB (target <= 500 MB)")

        payload = {"session_id": "bench-fresh", "cwd": "/tmp", "transcript_path": "/tmp/x.jsonl",
                   "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "t1",
                   "tool_input": {"command": "true"}, "tool_response": {"stdout": ""},
                   "duration_ms": 3}
        t1 = time.perf_counter()
        subprocess.run([str(BIN / "blueplane-hook"), "claude-code"], input=json.dumps(payload),
                       text=True, check=True, env=env)
        seen = None
        while time.perf_counter() - t1 < 180:
            try:
                conn = sqlite3.connect(f"file:{config.db_path()}?mode=ro", uri=True)
                n = conn.execute("SELECT count(*) FROM tool_calls WHERE session_id='bench-fresh'"
                                 ).fetchone()[0]
                conn.close()
            except sqlite3.OperationalError:
                n = 0
            if n:
                seen = time.perf_counter() - t1
                break
            time.sleep(0.5)
        print(f"hook event -> tool_calls row: {seen:.1f}s (target <= 60 s)" if seen
              else "hook event -> tool_calls row: not seen within 180 s")
    finally:
        subprocess.run([str(BIN / "blueplane"), "down"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
