"""Resources: the schema of the stored tables, and one session as JSON."""

from __future__ import annotations

import contextlib
import json

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from blueplane_pipeline.core import config
from blueplane_pipeline.read.schema import stored_tables
from blueplane_pipeline.read.sessions import resolve_session, session_detail
from mcp_server.reading import reading


def schema() -> str:
    """Every table with its description and columns (the metric definitions), and which of
    them this database has."""
    from blueplane_pipeline.storage.migrations import latest_version
    from blueplane_pipeline.storage.table_docs import HIDDEN_TABLES, all_table_docs

    present: dict[str, list[str]] = {}
    version = None
    try:
        with reading() as conn:
            version, present = stored_tables(conn)
    except ToolError:
        pass  # no database yet: the documentation alone is still the schema
    tables = {}
    for name, doc in all_table_docs().items():
        tables[name] = {
            "title": doc["title"], "description": doc["description"],
            "internal": name in HIDDEN_TABLES, "present": name in present,
            "columns": {c: doc["columns"].get(c, "") for c in present.get(name, doc["columns"])},
        }
    return json.dumps({"database": str(config.db_path()), "schema_version": version,
                       "latest_schema_version": latest_version(),
                       "definitions": "docs/metrics.md", "tables": tables}, indent=1)


def session(session_id: str) -> str:
    """One session: its row, turns with timeline, per-tool outcomes, files and failures."""
    try:
        with reading() as conn:
            found, suggestions = resolve_session(conn, session_id)
            detail = session_detail(conn, found) if found else None
    except ToolError as exc:
        raise ResourceError(str(exc)) from None
    if detail is None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        raise ResourceNotFoundError(f"no session {session_id!r}{hint}")
    for turn in detail["turns"]:
        with contextlib.suppress(ValueError):
            turn["timeline"] = json.loads(turn["timeline"] or "[]")
    return json.dumps(detail, indent=1, default=str)
