"""``blueplane team snapshot``: the team store copied into one SQLite file, so Datasette
(which cannot read Postgres) can browse the team's facts and rollups like a laptop's
``telemetry.db``. A copy at one moment (one REPEATABLE READ snapshot), never a live view.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blueplane_pipeline.team.schema import SCHEMA

TABLES = ("devices", "session_facts", "usage_facts", "tool_facts", "team_usage_daily",
          "team_activity_daily", "team_tool_daily", "team_outliers", "publishes")
_AFFINITY = {"integer": "INTEGER", "bigint": "INTEGER", "smallint": "INTEGER",
             "boolean": "INTEGER", "double precision": "REAL", "real": "REAL",
             "numeric": "REAL"}


@dataclass
class SnapshotStats:
    path: str
    rows: dict[str, int]
    seconds: float


def _value(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


def write(conn: Any, out: Path) -> SnapshotStats:
    """Write every team table into ``out`` (replaced atomically)."""
    t0 = time.perf_counter()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    lite = sqlite3.connect(tmp)
    rows: dict[str, int] = {}
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with conn.cursor() as cur:
            for table in TABLES:
                cur.execute("SELECT column_name, data_type FROM information_schema.columns"
                            " WHERE table_schema = %s AND table_name = %s"
                            " ORDER BY ordinal_position", (SCHEMA, table))
                cols = cur.fetchall()
                if not cols:
                    continue
                body = ", ".join(f'"{n}" {_AFFINITY.get(t, "TEXT")}' for n, t in cols)
                lite.execute(f'CREATE TABLE "{table}" ({body})')
                cur.execute(f"SELECT * FROM {SCHEMA}.{table}")
                marks = ", ".join("?" * len(cols))
                rows[table] = 0
                while batch := cur.fetchmany(5000):
                    lite.executemany(f'INSERT INTO "{table}" VALUES ({marks})',
                                     [tuple(_value(v) for v in r) for r in batch])
                    rows[table] += len(batch)
        lite.commit()
        lite.close()
        tmp.replace(out)
    except BaseException:
        lite.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        conn.rollback()
        conn.set_session(isolation_level="READ COMMITTED", readonly=False)
    return SnapshotStats(str(out), rows, time.perf_counter() - t0)
