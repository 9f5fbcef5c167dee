"""What `blueplane up` costs left on all day (issue 8): idle, following an assistant, a burst.

    python benchmarks/bench_always_on.py [--seconds 120] [--interval 2] [--idle-seconds 60]
        [--idle-after-seconds 30] [--session-pairs N] [--burst 50000 [--burst-preload]]
        [--up-args=--no-datasette] [--env K=V ...] [--json] [--report FILE]

Black box, so it runs unchanged against any layout of the package: it talks only to the
CLI (`blueplane up` / `blueplane down`, as subprocesses, in a temporary BLUEPLANE_HOME on
free ports), the hook file (`run_hook.py claude-code`, real Claude Code payloads on stdin)
and the SQLite file (`telemetry.db`, read-only).

What is measured, for every process `up` started and their descendants (found by
BLUEPLANE_HOME in /proc/<pid>/environ or a tracked parent; the hook processes and the
bench itself are excluded), sampled every --sample seconds (0.2):

* CPU: utime+stime per process from /proc/<pid>/stat, plus the cutime/cstime of tracked
  parents as they reap children (so children that live less than a sample still count;
  a reaped child's own samples are not counted twice). Reported as % of one core.
* memory: summed RSS (peak and mean).
* processes started per minute: tracked pids first seen in the window (a lower bound:
  a process that starts and exits within one sample is counted in CPU, not here).
* latency: a PreToolUse + PostToolUse pair through the real hook every --interval
  seconds; from the start of each hook process to its row in raw_events (polled every
  0.1 s), and from the start of the PostToolUse hook to the finished row in tool_calls
  and to `sessions` counting it.
* storage: the size of each entry of BLUEPLANE_HOME (telemetry.db*, dagster/, redis/...)
  at the start and end of following, extrapolated per hour.

The environment given to `up` drops PYTHONDONTWRITEBYTECODE (a user's machine writes
bytecode) and points CLAUDE_CONFIG_DIR at an empty folder (no real transcripts).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
FIXTURES = Path(os.environ.get("BLUEPLANE_FIXTURES", ROOT / "tests" / "fixtures" / "real"))
ROLE = "BLUEPLANE_BENCH_ROLE"  # set on the hook processes: excluded from what `up` runs

TARGETS = {
    "cpu_follow_pct": "<= 5 % (stretch <= 2 %)",
    "cpu_idle_pct": "<= 1 %",
    "rss": "<= 450 MB, peak <= 500 MB",
    "procs_per_min": "<= 2",
    "raw_p95": "<= 2 s",
    "tool_calls_p95": "<= 10 s (stretch <= 5 s)",
}


# --------------------------------------------------------------------------- processes
def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _stat(pid: int) -> tuple[int, int, int, int] | None:
    """(ppid, starttime, self ticks, reaped children's ticks) of ``pid``."""
    raw = _read(f"/proc/{pid}/stat")
    if raw is None:
        return None
    parts = raw.rsplit(b")", 1)[1].split()
    # fields after the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    # ... starttime(19)
    return (int(parts[1]), int(parts[19]), int(parts[11]) + int(parts[12]),
            int(parts[13]) + int(parts[14]))


def _write_bytes(pid: int) -> int:
    """Bytes this process (and children it reaped) sent to storage (/proc/<pid>/io), less
    those cancelled (written to a file truncated or deleted before it reached the disk)."""
    raw = _read(f"/proc/{pid}/io")
    if not raw:
        return 0
    fields = dict(line.split(b": ", 1) for line in raw.splitlines() if b": " in line)
    return int(fields.get(b"write_bytes", 0)) - int(fields.get(b"cancelled_write_bytes", 0))


def _rss(pid: int) -> int:
    raw = _read(f"/proc/{pid}/statm")
    return int(raw.split()[1]) * PAGE if raw else 0


def _label(pid: int) -> str:
    """A short, stable name for a process: 'dagster-daemon run', 'dagster api grpc', ..."""
    raw = _read(f"/proc/{pid}/cmdline") or b""
    argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    if len(argv) == 1:  # a title set by the process itself (redis-server)
        argv = argv[0].split()
    if not argv:
        return "?"
    exe = os.path.basename(argv[0])
    rest = argv[1:]
    if exe.startswith("python"):
        while rest and rest[0].startswith("-") and rest[0] not in ("-m", "-c"):
            rest = rest[1:]
        if rest[:1] == ["-c"]:
            code = rest[1] if len(rest) > 1 else ""
            if "multiprocessing" in code:
                return "python multiprocessing child (run worker)"
            return "python -c"
        if rest[:1] == ["-m"]:
            rest = rest[1:]
        if not rest:
            return exe
        exe, rest = os.path.basename(rest[0]), rest[1:]
    words = [exe] + [a for a in rest[:3] if not a.startswith("-") and "/" not in a
                     and not a.isdigit() and ":" not in a][:2]
    return " ".join(words)[:60]


@dataclass
class Proc:
    pid: int
    start: int
    ppid: int
    label: str
    first_seen: float
    self_ticks: int = 0
    child_ticks: int = 0
    debt: int = 0  # reaped children's ticks already counted in their own samples
    wbytes: int = 0
    wdebt: int = 0  # the same for storage writes (a reaped child's io joins its parent's)


class ProcMeter:
    """Samples every process of one BLUEPLANE_HOME; CPU counted incrementally per label."""

    def __init__(self, home: str, exclude: set[int], period: float = 0.2):
        self.marker = f"BLUEPLANE_HOME={home}".encode()
        self.home = home.encode()
        self.exclude = exclude
        self.period = period
        self.procs: dict[int, Proc] = {}
        self.ignored: dict[int, int] = {}  # pid -> starttime, not ours
        self.cpu_ticks: dict[str, int] = {}  # label -> ticks counted so far
        self.wbytes: dict[str, int] = {}  # label -> storage bytes written so far
        self.samples: list[tuple[float, int, dict[str, int]]] = []  # (t, rss total, rss/label)
        self.started: list[tuple[float, str]] = []  # (t, label) of each new process
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="procmeter")

    def start(self) -> None:
        self.sample()
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def _ours(self, pid: int, ppid: int) -> bool | None:
        """True/False, or None for a hook process (ours to exclude, children included)."""
        env = _read(f"/proc/{pid}/environ")
        if env is None:
            return False
        if f"{ROLE}=".encode() in env:
            return None
        if self.marker + b"\0" in env + b"\0" or ppid in self.procs:
            return True
        # a daemon that rewrote its title over its environment (redis-server does)
        return self.home + b"/" in (_read(f"/proc/{pid}/cmdline") or b"")

    def sample(self) -> None:
        now = time.monotonic()
        pids = [int(d) for d in os.listdir("/proc") if d.isdigit()]
        seen: set[int] = set()
        with self.lock:
            for pid in pids:
                if pid in self.exclude:
                    continue
                st = _stat(pid)
                if st is None:
                    continue
                ppid, start, self_t, child_t = st
                proc = self.procs.get(pid)
                if proc is not None and proc.start != start:  # pid reused
                    self._gone(proc)
                    proc = None
                if proc is None:
                    if self.ignored.get(pid) == start:
                        continue
                    ours = self._ours(pid, ppid)
                    if not ours:
                        self.ignored[pid] = start
                        continue
                    proc = Proc(pid, start, ppid, _label(pid), now)
                    self.procs[pid] = proc
                    self.started.append((now, proc.label))
                seen.add(pid)
                d_self = self_t - proc.self_ticks
                d_child = child_t - proc.child_ticks
                offset = min(d_child, proc.debt)
                proc.debt -= offset
                proc.self_ticks, proc.child_ticks = self_t, child_t
                self.cpu_ticks[proc.label] = (self.cpu_ticks.get(proc.label, 0)
                                              + d_self + d_child - offset)
                wb = _write_bytes(pid)
                d_w = wb - proc.wbytes
                w_off = min(max(d_w, 0), proc.wdebt)
                proc.wdebt -= w_off
                proc.wbytes = wb
                self.wbytes[proc.label] = self.wbytes.get(proc.label, 0) + d_w - w_off
                if proc.label == "?" and (label := _label(pid)) != "?":
                    proc.label = label
            for pid in [p for p in self.procs if p not in seen]:
                self._gone(self.procs[pid])
            by_label: dict[str, int] = {}
            total = 0
            for pid in seen:
                rss = _rss(pid)
                total += rss
                label = self.procs[pid].label
                by_label[label] = by_label.get(label, 0) + rss
            self.samples.append((now, total, by_label))

    def _gone(self, proc: Proc) -> None:
        """A tracked process exited: if a tracked parent reaps it, the parent's cutime will
        include everything the child used, so the child's counted ticks become a debt."""
        del self.procs[proc.pid]
        parent = self.procs.get(proc.ppid)
        if parent is not None:
            parent.debt += proc.self_ticks + proc.child_ticks
            parent.wdebt += proc.wbytes

    def mark(self) -> dict:
        """A point in time: CPU ticks per label, for a window with ``window``."""
        self.sample()
        with self.lock:
            return {"t": time.monotonic(), "cpu": dict(self.cpu_ticks),
                    "wbytes": dict(self.wbytes),
                    "n_samples": len(self.samples), "n_started": len(self.started)}

    def alive_pids(self) -> list[int]:
        with self.lock:
            return list(self.procs)

    def window(self, a: dict, b: dict) -> dict:
        secs = b["t"] - a["t"]
        labels = set(a["cpu"]) | set(b["cpu"])
        per = {lb: (b["cpu"].get(lb, 0) - a["cpu"].get(lb, 0)) / CLK for lb in labels}
        samples = self.samples[a["n_samples"]:b["n_samples"]]
        started = self.started[a["n_started"]:b["n_started"]]
        rss = [s[1] for s in samples] or [0]
        peak_by_label: dict[str, int] = {}
        for _, _, by in samples:
            for lb, v in by.items():
                peak_by_label[lb] = max(peak_by_label.get(lb, 0), v)
        kinds: dict[str, int] = {}
        for _, lb in started:
            kinds[lb] = kinds.get(lb, 0) + 1
        cpu_s = sum(per.values())
        written = sum(b["wbytes"].values()) - sum(a["wbytes"].values())
        w_per = {lb: b["wbytes"].get(lb, 0) - a["wbytes"].get(lb, 0) for lb in b["wbytes"]}
        return {
            "disk_write_mb_by_process": {lb: round(v / 2**20, 2) for lb, v in
                                         sorted(w_per.items(), key=lambda kv: -kv[1]) if v},
            "disk_write_mb": round(written / 2**20, 2),
            "disk_write_mb_per_hour": round(written / 2**20 / secs * 3600, 1) if secs else None,
            "seconds": round(secs, 1),
            "cpu_seconds": round(cpu_s, 2),
            "cpu_pct": round(100 * cpu_s / secs, 2) if secs else None,
            "cpu_pct_by_process": {lb: round(100 * v / secs, 2)
                                   for lb, v in sorted(per.items(), key=lambda kv: -kv[1])
                                   if v > 0},
            "rss_peak_mb": round(max(rss) / 2**20, 1),
            "rss_mean_mb": round(statistics.fmean(rss) / 2**20, 1),
            "rss_peak_mb_by_process": {lb: round(v / 2**20, 1) for lb, v in
                                       sorted(peak_by_label.items(), key=lambda kv: -kv[1])},
            "processes_started": len(started),
            "processes_per_min": round(60 * len(started) / secs, 1) if secs else None,
            "processes_started_by_kind": kinds,
        }


# --------------------------------------------------------------------------- the hook
def find_hook(env: dict) -> str:
    """The hook file of the package the CLI imports (``run_hook.py``)."""
    probe = ("import importlib.util as u\n"
             "for m in ('blueplane_pipeline.capture.run_hook', 'blueplane_pipeline.run_hook'):\n"
             "    try:\n        s = u.find_spec(m)\n    except ImportError:\n        s = None\n"
             "    if s and s.origin:\n        print(s.origin); break\n")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True).stdout.strip()
    if out:
        return out
    found = sorted(ROOT.glob("**/run_hook.py"))
    if not found:
        raise SystemExit("no run_hook.py found: pass --hook")
    return str(found[0])


def _fixture(name: str) -> dict | None:
    for path in sorted(FIXTURES.glob(f"hook_payloads/*/*/logs/{name}.json")):
        try:
            items = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for item in items:
            if isinstance(item, dict) and item.get("tool_name") == "Bash":
                return item
    return None


def pair_payloads(session: str, n: int, cwd: str) -> tuple[bytes, bytes]:
    """A realistic PreToolUse/PostToolUse pair (real fixture shapes when available)."""
    pre = _fixture("pre_tool_use") or {
        "hook_event_name": "PreToolUse", "tool_name": "Bash", "permission_mode": "default",
        "tool_input": {"command": "ls -la", "description": "List files in current directory"}}
    post = _fixture("post_tool_use") or {
        **pre, "hook_event_name": "PostToolUse",
        "tool_response": {"stdout": "total 40\n" + "-rw-r--r--  1 u  staff  109 a.py\n" * 12,
                          "stderr": "", "interrupted": False, "isImage": False}}
    common = {"session_id": session, "cwd": cwd, "tool_use_id": f"toolu_bench_{n:07d}",
              "transcript_path": f"{cwd}/.claude/{session}.jsonl"}
    return (json.dumps({**pre, **common, "hook_event_name": "PreToolUse"}).encode(),
            json.dumps({**post, **common, "hook_event_name": "PostToolUse"}).encode())


def run_hook(python: str, hook: str, env: dict, data: bytes) -> tuple[float, float]:
    t0 = time.monotonic()
    subprocess.run([python, "-S", hook, "claude-code"], input=data, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return t0, time.monotonic()


# A warm process that forks once per event and runs the hook file in the child: the same
# code path as the installed hook (argv + stdin, os._exit), without paying interpreter
# start-up 50,000 times. Reads "<n>\n<payload bytes>" records from stdin.
BURST_HELPER = r"""
import ast, os, sys
hook = sys.argv[1]
src = open(hook).read()
tree = ast.parse(src)
body = tree.body
if body and isinstance(body[-1], ast.Expr) and isinstance(body[-1].value, ast.Call):
    body = body[:-1]  # the trailing main() call
g = {"__name__": "__bench_warm__", "__file__": hook}
exec(compile(ast.Module(body=body, type_ignores=[]), hook, "exec"), g)
code = compile(src, hook, "exec")
sys.argv = [hook, "claude-code"]
inp = sys.stdin.buffer
out = 0
while True:
    line = inp.readline()
    if not line:
        break
    data = inp.read(int(line))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.dup2(r, 0)
        exec(code, {"__name__": "__main__", "__file__": hook})
        os._exit(0)
    os.close(r)
    os.write(w, data)
    os.close(w)
    os.waitpid(pid, 0)
    out += 1
print(out)
"""


# --------------------------------------------------------------------------- the database
class DbWatcher:
    """Polls telemetry.db (read-only) for the bench session's events and tool calls."""

    def __init__(self, db: Path, period: float = 0.1):
        self.db = db
        self.period = period
        self.sessions: list[str] = []
        self.raw_seen: dict[str, list[float]] = {}  # session -> arrival time of each event
        self.calls_done: dict[str, float] = {}  # tool_use_id -> time finished in tool_calls
        self.session_counts: dict[str, list[float]] = {}  # session -> time count reached k
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._raw_sql: str | None = None
        self.thread = threading.Thread(target=self._loop, daemon=True, name="dbwatch")

    def watch(self, session: str) -> None:
        self.sessions.append(session)
        self.raw_seen.setdefault(session, [])
        self.session_counts.setdefault(session, [])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None and self.db.exists():
            self._conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1.0,
                                         check_same_thread=False)
        return self._conn

    def _raw_count(self, conn, session: str) -> int:
        candidates = [
            "SELECT count(*) FROM raw_events r JOIN event_sessions s ON s.session = r.session"
            " WHERE s.session_id = ?",
            "SELECT count(*) FROM raw_events WHERE session_id = ?",
        ]
        for sql in ([self._raw_sql] if self._raw_sql else candidates):
            try:
                n = conn.execute(sql, (session,)).fetchone()[0]
                self._raw_sql = sql
                return n
            except sqlite3.Error:
                continue
        return 0

    def poll(self) -> None:
        conn = self._connect()
        if conn is None:
            return
        now = time.monotonic()
        for session in list(self.sessions):
            try:
                n = self._raw_count(conn, session)
                seen = self.raw_seen[session]
                seen.extend([now] * (n - len(seen)))
                try:
                    for tuid, status in conn.execute(
                            "SELECT tool_use_id, status FROM tool_calls WHERE session_id = ?",
                            (session,)):
                        if status != "pending" and tuid not in self.calls_done:
                            self.calls_done[tuid] = now
                except sqlite3.Error:
                    pass
                try:
                    row = conn.execute("SELECT tool_calls - coalesce(tool_pending, 0) FROM "
                                       "sessions WHERE session_id = ?", (session,)).fetchone()
                except sqlite3.Error:
                    row = conn.execute("SELECT tool_calls FROM sessions WHERE session_id = ?",
                                       (session,)).fetchone()
                k = int(row[0]) if row and row[0] is not None else 0
                counts = self.session_counts[session]
                counts.extend([now] * (k - len(counts)))
            except sqlite3.Error as exc:
                self.errors.append(str(exc))

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.poll()
            except sqlite3.Error as exc:  # a locked or half-created file: try again
                self.errors.append(str(exc))


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def lat_summary(values: list[float], missing: int) -> dict:
    return {"n": len(values), "missing": missing,
            "p50": _r(pct(values, 0.5)), "p95": _r(pct(values, 0.95)),
            "max": _r(max(values) if values else None)}


def _r(v: float | None, nd: int = 2) -> float | None:
    return None if v is None else round(v, nd)


# --------------------------------------------------------------------------- storage
def du(path: Path) -> int:
    total = 0
    if path.is_file():
        return path.stat().st_size
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


def storage(home: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for entry in sorted(home.iterdir()):  # telemetry.db, -wal, -shm apart: the WAL is
        out[entry.name] = du(entry)  # a high-water mark, reset at each checkpoint
    return out


# --------------------------------------------------------------------------- the run
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict:
    sys.path.insert(0, str(HERE))
    try:
        from _machine import info  # type: ignore

        return info()
    except Exception:  # noqa: BLE001 - informational only
        import platform

        return {"cores": os.cpu_count(), "python": platform.python_version(),
                "platform": platform.platform(), "loadavg_1m": os.getloadavg()[0]}
    finally:
        sys.path.pop(0)


def cli(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "blueplane"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def up_argv(env: dict, extra: list[str]) -> list[str]:
    helptext = cli(env, "up", "--help").stdout
    argv = ["up"]
    if "--dagster-port" in helptext and "--dagster-port" not in extra:
        argv += ["--dagster-port", str(free_port())]
    if "--datasette-port" in helptext and "--datasette-port" not in extra:
        argv += ["--datasette-port", str(free_port())]
    return argv + extra


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=120, help="how long to follow")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between tool calls")
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--idle-after-seconds", type=float, default=0,
                    help="also measure idle after following (once drained)")
    ap.add_argument("--settle", type=float, default=20,
                    help="seconds after `up` before measuring (start-up runs, first ticks)")
    ap.add_argument("--drain-timeout", type=float, default=120)
    ap.add_argument("--session-pairs", type=int, default=0,
                    help="start a new session every N tool calls while following (0: one)")
    ap.add_argument("--burst", type=int, default=0, help="then inject N events at once")
    ap.add_argument("--burst-session-events", type=int, default=1000,
                    help="events per session in the burst (an import brings many sessions)")
    ap.add_argument("--burst-mode", choices=("fork", "process"), default="fork",
                    help="fork: a warm process forks per event and runs the hook file; "
                         "process: one `python -S run_hook.py` per event")
    ap.add_argument("--burst-timeout", type=float, default=1800)
    ap.add_argument("--burst-preload", action="store_true",
                    help="inject the burst while only Redis runs (`up --no-dagster "
                         "--no-datasette`), then `up` again: times draining a backlog")
    ap.add_argument("--reference-interval", type=float, default=2.0,
                    help="a compressed soak: with --interval below this, traffic runs that "
                         "many times faster and storage is also reported per hour of "
                         "traffic at the reference rate (per event) besides per real hour")
    ap.add_argument("--up-args", default="", help="extra arguments for `blueplane up`")
    ap.add_argument("--env", action="append", default=[], metavar="K=V",
                    help="environment for the CLI and services (e.g. PYTHONPATH=...)")
    ap.add_argument("--hook", help="the hook file (default: the package's run_hook.py)")
    ap.add_argument("--sample", type=float, default=0.2)
    ap.add_argument("--keep", action="store_true", help="keep the temporary home")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--report", metavar="FILE", help="print the table of a saved --json result")
    args = ap.parse_args()
    if args.report:
        report(json.loads(Path(args.report).read_text()), False)
        return

    home = Path(tempfile.mkdtemp(prefix="bpao-", dir="/tmp"))
    (home / "claude-config").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("BLUEPLANE_REDIS_URL", "PYTHONDONTWRITEBYTECODE", ROLE)}
    env.update(BLUEPLANE_HOME=str(home), CLAUDE_CONFIG_DIR=str(home / "claude-config"),
               DAGSTER_DISABLE_TELEMETRY="1")
    for kv in args.env:
        k, _, v = kv.partition("=")
        env[k] = v
    hook = args.hook or find_hook(env)
    hook_env = {**env, ROLE: "hook"}
    python = str(BIN / "python")
    db = home / "telemetry.db"
    result: dict = {"machine": machine(), "home": str(home), "hook": hook,
                    "config": {k: getattr(args, k) for k in
                               ("seconds", "interval", "idle_seconds", "burst", "up_args",
                                "env", "sample", "settle")}}
    meter = ProcMeter(str(home), exclude={os.getpid()}, period=args.sample)
    watcher = DbWatcher(db)
    meter.start()

    def log(*a) -> None:
        print(*a, file=sys.stderr, flush=True)

    try:
        m0 = meter.mark()
        argv = up_argv(env, shlex.split(args.up_args))
        t = time.monotonic()
        res = cli(env, *argv)
        result["up"] = {"argv": argv, "seconds": round(time.monotonic() - t, 1),
                        "rc": res.returncode, "stdout": res.stdout.strip()[-2000:]}
        if res.returncode:
            raise SystemExit(f"blueplane up failed: {res.stdout}{res.stderr}")
        log(f"up in {result['up']['seconds']} s; settling {args.settle:.0f} s")
        time.sleep(args.settle)
        m1 = meter.mark()
        result["startup"] = meter.window(m0, m1)
        watcher.start()

        if args.idle_seconds > 0:
            log(f"idle {args.idle_seconds:.0f} s")
            time.sleep(args.idle_seconds)
        m2 = meter.mark()
        result["idle"] = meter.window(m1, m2)

        # ---- following
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        per = args.session_pairs or 10**9
        sessions = [f"{prefix}-{k}" for k in range(max(1, -(-int(args.seconds / args.interval)
                                                             // per)))]
        for sid in sessions:
            watcher.watch(sid)
        store0 = storage(home)
        sent: list[tuple[float, float]] = []  # (hook start, hook end) per event
        post_start: dict[str, float] = {}  # tool_use_id -> PostToolUse hook start
        n_pairs = max(1, int(args.seconds / args.interval))
        log(f"following: {n_pairs} tool calls, one every {args.interval} s")
        t_follow = time.monotonic()
        for i in range(n_pairs):
            due = t_follow + i * args.interval
            time.sleep(max(0.0, due - time.monotonic()))
            pre, post = pair_payloads(sessions[i // per], i, str(home / "project"))
            sent.append(run_hook(python, hook, hook_env, pre))
            time.sleep(0.1)  # the tool runs
            t_post = run_hook(python, hook, hook_env, post)
            sent.append(t_post)
            post_start[f"toolu_bench_{i:07d}"] = t_post[0]
        time.sleep(max(0.0, t_follow + n_pairs * args.interval - time.monotonic()))
        m3 = meter.mark()
        store1 = storage(home)
        result["follow"] = meter.window(m2, m3)
        # wait for the tail of the events to be analysed (latencies still recorded)
        deadline = time.monotonic() + args.drain_timeout
        def per_session(i: int) -> tuple[str, int]:
            return sessions[i // per], i % per

        def done() -> bool:
            raw = sum(len(watcher.raw_seen[sid]) for sid in sessions)
            sess = sum(len(watcher.session_counts[sid]) for sid in sessions)
            return raw >= len(sent) and len(watcher.calls_done) >= n_pairs and sess >= n_pairs

        while time.monotonic() < deadline and not done():
            time.sleep(0.25)
        m4 = meter.mark()
        result["drain"] = meter.window(m3, m4)
        raw_lat, sess_lat = [], []
        for k, (t_start, _) in enumerate(sent):  # events 2i (Pre) and 2i+1 (Post)
            sid, j = per_session(k // 2)
            arrivals = watcher.raw_seen[sid]
            if 2 * j + k % 2 < len(arrivals):
                raw_lat.append(arrivals[2 * j + k % 2] - t_start)
        calls_lat = [watcher.calls_done[t] - s for t, s in post_start.items()
                     if t in watcher.calls_done]
        for i in range(n_pairs):
            sid, j = per_session(i)
            counts = watcher.session_counts[sid]
            if j < len(counts):
                sess_lat.append(counts[j] - post_start[f"toolu_bench_{i:07d}"])
        hook_wall = [e - s for s, e in sent]
        result["latency_s"] = {
            "hook_wall": lat_summary(hook_wall, 0),
            "raw_events": lat_summary(raw_lat, len(sent) - len(raw_lat)),
            "tool_calls": lat_summary(calls_lat, n_pairs - len(calls_lat)),
            "sessions": lat_summary(sess_lat, n_pairs - len(sess_lat)),
        }
        hours = result["follow"]["seconds"] / 3600
        result["storage"] = {
            "bytes_at_follow_start": store0, "bytes_at_follow_end": store1,
            "growth_per_hour_mb": {k: round((store1.get(k, 0) - store0.get(k, 0)) / hours
                                            / 2**20, 2) for k in store1},
            "events_sent": len(sent),
            # events actually sent per second over the reference rate's (2 per interval)
            "speedup": round(len(sent) / max(result["follow"]["seconds"], 1e-9)
                             / (2 / args.reference_interval), 2),
        }
        # Traffic-driven growth (telemetry.db: rows per event) scales with the speed-up;
        # time-driven growth (Dagster's reporting windows and ticks) does not, so its per
        # real hour figure is an upper bound for the reference rate.
        speedup = result["storage"]["speedup"]
        result["storage"]["growth_per_reference_hour_mb"] = {
            k: round(v / speedup, 2) for k, v in result["storage"]["growth_per_hour_mb"].items()}

        if args.idle_after_seconds > 0:
            log(f"idle after following {args.idle_after_seconds:.0f} s")
            time.sleep(args.idle_after_seconds)
            result["idle_after"] = meter.window(m4, meter.mark())

        if args.burst > 0:
            restart = None
            if args.burst_preload:
                cli(env, "down", timeout=120)
                cli(env, "up", "--no-dagster", "--no-datasette")

                def restart() -> None:
                    res = cli(env, *argv)
                    log(f"up again: rc={res.returncode}")

            result["burst"] = burst(args, meter, watcher, python, hook, hook_env, home, log,
                                    restart)
        result["storage"]["bytes_at_end"] = storage(home)
    finally:
        watcher.stop()
        res = cli(env, "down", timeout=120)
        time.sleep(1.0)
        meter.stop()
        leftovers = meter.alive_pids()
        for pid in leftovers:  # only processes of this run's home: ours to stop
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        result["down"] = {"rc": res.returncode, "leftover_processes": len(leftovers)}
        if not args.keep:
            subprocess.run(["rm", "-rf", str(home)], check=False)
    report(result, args.json)


def burst(args, meter, watcher, python, hook, hook_env, home, log, restart=None) -> dict:
    """Inject N events (N/2 tool calls) as fast as the hook goes; time until analysed.
    With ``restart`` (preload), the pipeline is started only once all are in the stream,
    and times are counted from that start."""
    n_pairs = args.burst // 2
    per = max(1, args.burst_session_events // 2)
    prefix = f"burst-{uuid.uuid4().hex[:8]}"
    sessions = [f"{prefix}-{k}" for k in range(-(-n_pairs // per))]
    for sid in sessions:
        watcher.watch(sid)
    log(f"burst: {2 * n_pairs} events ({args.burst_mode})")
    m0 = meter.mark()
    t0 = time.monotonic()
    if args.burst_mode == "fork":
        proc = subprocess.Popen([python, "-S", "-c", BURST_HELPER, hook], env=hook_env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        for i in range(n_pairs):
            for data in pair_payloads(sessions[i // per], 1_000_000 + i, str(home / "project")):
                proc.stdin.write(b"%d\n" % len(data) + data)
        proc.stdin.close()
        proc.wait()
    else:
        for i in range(n_pairs):
            for data in pair_payloads(sessions[i // per], 1_000_000 + i, str(home / "project")):
                run_hook(python, hook, hook_env, data)
    t_sent = time.monotonic()
    log(f"burst sent in {t_sent - t0:.1f} s; waiting for it to be analysed")
    send_seconds = t_sent - t0
    if restart is not None:
        m0 = meter.mark()
        t0 = t_sent = time.monotonic()
        restart()
    t_raw = t_calls = t_sess = None
    deadline = t_sent + args.burst_timeout
    while time.monotonic() < deadline:
        now = time.monotonic()
        if t_raw is None and sum(len(watcher.raw_seen[s]) for s in sessions) >= 2 * n_pairs:
            t_raw = now
        if t_calls is None and sum(1 for t in watcher.calls_done
                                   if t.startswith("toolu_bench_1")) >= n_pairs:
            t_calls = now
        if t_sess is None and sum(len(watcher.session_counts[s]) for s in sessions) >= n_pairs:
            t_sess = now
        if t_raw and t_calls and t_sess:
            break
        time.sleep(0.25)
    m1 = meter.mark()
    w = meter.window(m0, m1)

    def since(t):
        return _r(t - t0, 1) if t else None

    return {"events": 2 * n_pairs, "send_seconds": round(send_seconds, 1),
            "preloaded": restart is not None,
            "raw_events_all_in_s": since(t_raw), "tool_calls_all_in_s": since(t_calls),
            "sessions_all_in_s": since(t_sess),
            "sessions": len(sessions),
            "raw_events_seen": sum(len(watcher.raw_seen[s]) for s in sessions), **w}


# --------------------------------------------------------------------------- output
def report(r: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(r, indent=2, default=str))
        return
    m = r["machine"]
    print("machine: " + ", ".join(f"{k}={v}" for k, v in m.items()))
    print(f"up: {' '.join(r['up']['argv'])}  ({r['up']['seconds']} s)")
    idle, fol = r.get("idle", {}), r.get("follow", {})
    lat = r.get("latency_s", {})

    def row(name, value, target=""):
        print(f"| {name:52} | {value:>28} | {target:26} |")

    def lat_cell(key):
        d = lat.get(key) or {}
        miss = f" ({d['missing']} missing)" if d.get("missing") else ""
        return f"{d.get('p50')}/{d.get('p95')}/{d.get('max')}{miss}"

    print(f"| {'':52} | {'measured':>28} | {'target (issue 8)':26} |")
    print(f"|{'-' * 54}|{'-' * 30}|{'-' * 28}|")
    row(f"CPU following 1 call/{r['config']['interval']}s (% of one core)",
        f"{fol.get('cpu_pct')} %", TARGETS["cpu_follow_pct"])
    row("CPU idle (% of one core)", f"{idle.get('cpu_pct')} %", TARGETS["cpu_idle_pct"])
    row("RSS following: mean / peak (MB)", f"{fol.get('rss_mean_mb')} / {fol.get('rss_peak_mb')}",
        TARGETS["rss"])
    row("RSS idle: mean / peak (MB)", f"{idle.get('rss_mean_mb')} / {idle.get('rss_peak_mb')}")
    row("processes started per minute (following)", f"{fol.get('processes_per_min')}",
        TARGETS["procs_per_min"])
    row("event -> raw_events p50/p95/max (s)", lat_cell("raw_events"), TARGETS["raw_p95"])
    row("event -> tool_calls p50/p95/max (s)", lat_cell("tool_calls"), TARGETS["tool_calls_p95"])
    row("event -> sessions p50/p95/max (s)", lat_cell("sessions"), TARGETS["tool_calls_p95"])
    row("hook wall p50/p95/max (s)", lat_cell("hook_wall"))
    row("disk writes following (MB/hour)", f"{fol.get('disk_write_mb_per_hour')}")
    row("disk writes idle (MB/hour)", f"{idle.get('disk_write_mb_per_hour')}")
    st = r.get("storage", {})
    for k, v in (st.get("growth_per_hour_mb") or {}).items():
        if v:
            row(f"storage growth {k} (MB/hour following)", f"{v}")
    if st.get("speedup", 1) > 1:
        row("traffic speed-up over the reference rate", f"{st['speedup']}x")
        for k, v in (st.get("growth_per_reference_hour_mb") or {}).items():
            if v and k.startswith("telemetry"):
                row(f"  {k} per hour of reference traffic (MB)", f"{v}")
    if st.get("bytes_at_end"):
        for k, v in st["bytes_at_end"].items():
            if k in ("dagster", "telemetry.db"):
                row(f"size at end: {k} (MB)", f"{round(v / 2**20, 2)}")
    if "idle_after" in r:
        ia = r["idle_after"]
        row("CPU idle after following (% of one core)", f"{ia['cpu_pct']} %",
            TARGETS["cpu_idle_pct"])
    if "burst" in r:
        b = r["burst"]
        row(f"burst {b['events']} events: sent in (s)", f"{b['send_seconds']}")
        row("burst: all in raw_events / tool_calls / sessions (s)",
            f"{b['raw_events_all_in_s']} / {b['tool_calls_all_in_s']} / {b['sessions_all_in_s']}",
            "drained and analysed")
        row("burst: CPU (% of one core), peak RSS (MB)", f"{b['cpu_pct']} %, {b['rss_peak_mb']}")
    for phase in ("startup", "idle", "follow", "drain", "idle_after", "burst"):
        w = r.get(phase)
        if not w:
            continue
        print(f"\n{phase}: {w['seconds']} s, {w['cpu_seconds']} CPU-s ({w['cpu_pct']} %), "
              f"RSS mean {w['rss_mean_mb']} / peak {w['rss_peak_mb']} MB, "
              f"{w['processes_started']} processes started {w['processes_started_by_kind']}")
        for lb, v in w["cpu_pct_by_process"].items():
            print(f"    {v:7.2f} %  {w['rss_peak_mb_by_process'].get(lb, 0):7.1f} MB  {lb}")
    print(f"\ndown: rc={r['down']['rc']}, leftover processes killed: "
          f"{r['down']['leftover_processes']}")


if __name__ == "__main__":
    main()
