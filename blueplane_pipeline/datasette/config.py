"""How Datasette is started over ``telemetry.db``, and the metadata it is given.

Read-only use: the file is opened ``mode=ro`` (never ``-i``/immutable: it is live), no write
plugins are loaded. The metadata is generated from the table docs (one source of truth for
descriptions), so every table and column carries the metric definitions; internal tables
are hidden; canned queries and the datasette-dashboards dashboard come from
``datasette_queries``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

from blueplane_pipeline.core import config
from blueplane_pipeline.storage.db import connect, existing_tables

PLUGINS_DIR = Path(__file__).with_name("plugins")
DASHBOARD_SLUG = "overview"
# suggest_facets off: the default views name their facets, and suggesting them cost ~2.6 s
# per tool_calls page at 300k rows (benchmarks/bench_datasette.py).
SETTINGS = {"sql_time_limit_ms": 5000, "max_returned_rows": 2000, "facet_time_limit_ms": 500,
            "suggest_facets": False}

# Default table views: newest first, faceted on what people filter by.
TABLE_VIEWS: dict[str, dict] = {
    "sessions": {"sort_desc": "started_at", "facets": ["platform", "project_name"]},
    "tool_calls": {"sort_desc": "started_at", "facets": ["platform", "status", "tool_name"]},
    "turns": {"sort_desc": "started_at"},
    "file_edits": {"sort_desc": "ts", "facets": ["status", "file_ext"]},
    "metrics_daily": {"sort_desc": "day"},
    "tool_metrics": {"sort_desc": "day"},
    "insights": {"facets": ["kind", "severity"]},
    "token_usage": {"sort_desc": "ts_ms", "facets": ["platform", "model"]},
    "raw_events": {"sort_desc": "seq"},
    "raw_events_view": {"sort_desc": "seq", "facets": ["platform", "event_type"]},
    "ingest_runs": {"sort_desc": "run_id"},
}


def database_name(db_path: Path | None = None) -> str:
    """Datasette names a database after its file's stem."""
    return (db_path or config.db_path()).stem


def build_metadata(db_name: str | None = None, tables_present: set[str] | None = None) -> dict:
    """The full Datasette metadata: titles, descriptions, hidden tables, canned queries
    and the dashboards plugin config. ``tables_present`` (None = all) lets the dashboard
    work on a database from an older schema."""
    from blueplane_pipeline.datasette.queries import CANNED_QUERIES
    from blueplane_pipeline.storage.table_docs import HIDDEN_TABLES, all_table_docs

    name = db_name or database_name()
    tables: dict[str, dict] = {}
    for table, doc in all_table_docs().items():
        entry = {"title": doc["title"], "description": doc["description"],
                 "columns": dict(doc["columns"])}
        entry.update(TABLE_VIEWS.get(table, {}))
        if table in HIDDEN_TABLES:
            entry["hidden"] = True
        tables[table] = entry
    for table in HIDDEN_TABLES - tables.keys():
        tables[table] = {"hidden": True}
    return {
        "title": "Blueplane telemetry",
        "description": "Local telemetry of Claude Code, Cursor, Codex and Gemini CLI sessions. "
                       "Everything here stays on this machine. Dashboard: /-/dashboards/"
                       + DASHBOARD_SLUG,
        "databases": {
            name: {
                "title": "telemetry.db",
                "description": "Raw events and the analytics tables derived from them "
                               "(read-only). SQL functions: blueplane_event(seq), "
                               "blueplane_percentile(value, q).",
                "tables": tables,
                "queries": {key: dict(q, sql=q["sql"].strip())
                            for key, q in CANNED_QUERIES.items()},
            }
        },
        "plugins": {"datasette-dashboards": {DASHBOARD_SLUG: dashboard(name, tables_present)}},
    }


def dashboard(db_name: str, tables_present: set[str] | None = None) -> dict:
    """The datasette-dashboards config of the overview dashboard.

    A select filter's query runs when the page renders, so on a database without the
    ``sessions`` table (older schema) the project filter becomes a plain text box rather
    than breaking the page; the charts themselves only fail one by one.
    """
    from blueplane_pipeline.datasette.queries import (
        DASHBOARD_CHARTS,
        DASHBOARD_FILTERS,
        DASHBOARD_LAYOUT,
    )

    filters = {}
    for key, flt in DASHBOARD_FILTERS.items():
        if "query" not in flt:
            filters[key] = dict(flt)
        elif tables_present is None or "sessions" in tables_present:
            filters[key] = dict(flt, db=db_name)
        else:
            filters[key] = {"name": flt["name"], "type": "text"}
    return {
        "title": "Blueplane overview",
        "description": "Edit acceptance, tool latency, tokens and cost, sessions per project. "
                       "Days are UTC; rates are recomputed from counts, percentiles are exact.",
        "settings": {"allow_fullscreen": True, "autorefresh": 1},
        "layout": DASHBOARD_LAYOUT,
        "filters": filters,
        "charts": {slug: dict(chart, db=db_name) for slug, chart in DASHBOARD_CHARTS.items()},
    }


def tables_in(db_path: Path) -> set[str] | None:
    """Tables of the file (read-only look), or None when it cannot be read."""
    try:
        conn = connect(db_path, readonly=True)
        try:
            return existing_tables(conn, views=True)
        finally:
            conn.close()
    except (sqlite3.Error, OSError):
        return None


def write_metadata(path: Path | None = None) -> Path:
    """Write the metadata JSON under ``BLUEPLANE_HOME/datasette/`` and return its path."""
    target = path or config.subdir("datasette") / "metadata.json"
    db = config.db_path()
    metadata = build_metadata(database_name(db), tables_in(db))
    target.write_text(json.dumps(metadata, indent=2, ensure_ascii=False))
    return target


def datasette_argv(host: str, port: int) -> list[str]:
    """The command that serves ``telemetry.db`` (writes the metadata file first)."""
    local = Path(sys.executable).parent / "datasette"
    exe = str(local) if local.exists() else (shutil.which("datasette") or "datasette")
    argv = [exe, "serve", str(config.db_path()), "-h", host, "-p", str(port),
            "--metadata", str(write_metadata()), "--plugins-dir", str(PLUGINS_DIR)]
    for key, value in SETTINGS.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        argv += ["--setting", key, text]
    return argv
