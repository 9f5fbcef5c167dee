"""Stopping and measuring processes we started (Linux/macOS; /proc for memory)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a child of ours that exited is reaped, not counted)."""
    with contextlib.suppress(ChildProcessError):
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def terminate(pid: int, *, group: bool, timeout: float) -> None:
    """SIGTERM ``pid`` (or its whole process group), wait up to ``timeout``, then SIGKILL."""
    kill = os.killpg if group else os.kill
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            kill(pid, signal.SIGKILL)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MB (Linux /proc)."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@dataclass
class Cost:
    """What a process we started costs so far, with its descendants."""

    rss_mb: float
    cpu_s: float  # user+system CPU-seconds since it started, children it reaped included
    uptime_s: float
    processes: int

    @property
    def cpu_pct(self) -> float | None:
        """Average CPU since start, as a percentage of one core."""
        return round(100 * self.cpu_s / self.uptime_s, 2) if self.uptime_s > 0 else None


def cost(pid: int) -> Cost | None:
    """RSS, CPU-seconds and age of ``pid`` and its descendants (Linux /proc), or None."""
    stat = _stat(pid)
    if stat is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    cpu, started = stat[0] + stat[1], stat[2]
    family = [pid, *_descendants(pid)]
    for child in family[1:]:
        s = _stat(child)
        if s is not None:
            cpu += s[0]  # its own; what it reaped is in its parent's cumulative count
    try:
        boot_uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError):
        boot_uptime = 0.0
    return Cost(rss_mb=round(rss_mb(pid), 1), cpu_s=round(cpu / tick, 2),
                uptime_s=round(max(0.0, boot_uptime - started / tick), 1),
                processes=len(family))


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(own ticks, reaped children's ticks, start time in ticks since boot)."""
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(parts[11]) + int(parts[12]), int(parts[13]) + int(parts[14]), int(parts[19])
