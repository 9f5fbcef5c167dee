"""How Datasette is started over ``telemetry.db`` (read-only use, never ``-i`` on a live file)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from blueplane_pipeline import config


def datasette_argv(host: str, port: int) -> list[str]:
    local = Path(sys.executable).parent / "datasette"
    exe = str(local) if local.exists() else (shutil.which("datasette") or "datasette")
    return [exe, "serve", str(config.db_path()), "-h", host, "-p", str(port),
            "--setting", "sql_time_limit_ms", "5000"]
