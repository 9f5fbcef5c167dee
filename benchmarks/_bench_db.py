"""A BLUEPLANE_HOME holding a 1M-event-scale telemetry.db for the reader benchmarks."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from gen_analytics import generate


def bench_home(db: Path | None, sessions: int, prefix: str) -> Path:
    """A fresh home whose telemetry.db is ``db`` (linked) or freshly generated."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    target = home / "telemetry.db"
    if db:
        target.symlink_to(db.resolve())
    else:
        t0 = time.perf_counter()
        counts = generate(target, sessions=sessions)
        print(f"generated in {time.perf_counter() - t0:.0f}s: "
              + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
    print(f"database: {target.resolve()} ({target.resolve().stat().st_size / 1e6:.0f} MB)")
    return home
