"""What the always-visible surfaces read, kept current after every refresh (group
``analytics``): the full-text search index and the spend file of the budgets/statusline.

Thin wiring: the work is in ``analytics.search_index`` and ``budgets.spend``.
"""

from pathlib import Path

import dagster as dg

from blueplane_pipeline.orchestration.assets.analytics import AUTOMATION, GROUP, RAW, TOKEN_USAGE
from blueplane_pipeline.orchestration.resources import BlueplaneResource


class SearchIndexConfig(dg.Config):
    full_rebuild: bool = False


@dg.asset(
    name="search_index",
    group_name=GROUP,
    kinds={"sqlite"},
    deps=[RAW, "sessions"],
    automation_condition=AUTOMATION,
    description="Full-text index (SQLite FTS5) of prompts, assistant text, tool calls and "
    "session titles, as far as the privacy mode keeps them: search_docs + "
    "search_fts; `blueplane search` and the MCP search tools read it.",
)
def search_index(
    context: dg.AssetExecutionContext, config: SearchIndexConfig, blueplane: BlueplaneResource
):
    conn = blueplane.writer()
    try:
        metadata = refresh_search(conn, full=config.full_rebuild)
    finally:
        conn.close()
    context.log.info(f"{metadata['rows_changed']} entries indexed from "
                     f"{metadata['events_read']} events")
    return dg.MaterializeResult(metadata=metadata)


def refresh_search(conn, *, full: bool = False) -> dict:
    """Refresh the search index on ``conn``; its materialization metadata."""
    from blueplane_pipeline.analytics.search_index import refresh_search_index
    from blueplane_pipeline.core import config as settings

    stats = refresh_search_index(
        conn, full=full, privacy_mode=settings.load_settings().privacy_mode
    )
    mb_s = stats.text_bytes / 1e6 / stats.seconds if stats.seconds else None
    return {
        "rows_changed": stats.docs_added + stats.titles_changed,
        "events_read": stats.events_read,
        "text_bytes": stats.text_bytes,
        "mb_per_s": round(mb_s, 1) if mb_s else None,
        "seconds": stats.seconds,
        "last_seq": stats.last_seq,
    }


@dg.asset(
    name="spend_state",
    group_name=GROUP,
    kinds={"json"},
    deps=[TOKEN_USAGE, "sessions"],
    automation_condition=AUTOMATION,
    description="run/spend.json: spend per local day and project this month and week, "
    "the current 5-hour block and the last day's sessions, for budgets, the "
    "hook's hard cap and the statusline.",
)
def spend_state(context: dg.AssetExecutionContext, blueplane: BlueplaneResource):
    return dg.MaterializeResult(metadata=refresh_spend(blueplane))


def refresh_spend(blueplane: BlueplaneResource) -> dict:
    """Write run/spend.json from the tables; its materialization metadata."""
    import time

    from blueplane_pipeline.budgets import spend

    t0 = time.perf_counter()
    conn = blueplane.reader()
    data = {"days": {}, "block": None, "sessions": {}}
    try:
        if conn is not None:
            data = spend.compute(conn)
    finally:
        if conn is not None:
            conn.close()
    path = str(Path(blueplane.home) / "run" / "spend.json") if blueplane.home else None
    written = spend.write(data, path)
    today = max(data["days"]) if data["days"] else None
    return {
        "path": written,
        "today_usd": round(data["days"][today]["*"], 4) if today else 0.0,
        "block_usd": round(data["block"]["cost"], 4) if data.get("block") else 0.0,
        "seconds": round(time.perf_counter() - t0, 3),
    }


SURFACE_ASSETS = [search_index, spend_state]
