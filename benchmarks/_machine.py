"""Machine facts printed with every benchmark figure (a number without its machine is noise)."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def redis_version(r=None) -> str:
    if r is None:
        return "n/a"
    try:
        return str(r.info("server").get("redis_version"))
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


def info(r=None) -> dict:
    import orjson
    import zstandard

    load = os.getloadavg()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg_1m": round(load[0], 2),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "redis_server": redis_version(r),
        "zstandard": zstandard.__version__,
        "orjson": orjson.__version__,
        "platform": platform.platform(),
    }


def print_info(r=None) -> None:
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info(r).items()))
