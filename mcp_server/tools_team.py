"""The team tool: the team store's totals, registered only when ``team.url`` is set.

Read-only over the published facts (``blueplane_pipeline.team.reports``, the same queries
as ``blueplane team report``); psycopg2 loads on the first call, never at start-up.
"""

from __future__ import annotations

from typing import Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

Report = Literal["daily", "developers", "projects", "models"]


class TeamReport(BaseModel):
    report: str
    timezone: str
    since: str | None = None
    until: str | None = None
    rows: list[dict[str, Any]] = Field(description="daily: ccusage's per-day entries; else "
                                       "one row per developer/project/model, costliest first")
    totals: dict[str, Any]


def enabled() -> bool:
    from blueplane_pipeline.team import settings

    return bool(settings.load().url)


def get_team_report(report: Report = "developers", since: str | None = None,
                    until: str | None = None, timezone: str = "UTC",
                    developer: str | None = None, project: str | None = None) -> TeamReport:
    """The team's totals from its shared store (anonymised facts every developer's laptop
    published): per day (tokens and cost, like `usage daily`), developer, project or model
    (sessions, active hours, tool error rate, edit acceptance, tokens, cost). since/until
    are YYYY-MM-DD days in `timezone`; developer/project filter (aliases or hashes)."""
    from blueplane_pipeline.team import pg, reports, settings
    from blueplane_pipeline.usage.timeframe import TimeframeError, day_bounds, resolve_timezone

    url = settings.load().url
    try:
        tz = resolve_timezone(timezone)
        since_ms, until_ms = day_bounds(since, until, tz)
    except TimeframeError as exc:
        raise ToolError(str(exc)) from None
    window = reports.Window(since_ms, until_ms, developer, project)
    try:
        conn = pg.open_reader(url, "blueplane-mcp")
        try:
            out = (reports.daily(conn, window, tz) if report == "daily"
                   else reports.grouped(conn, report, window))
        finally:
            conn.close()
    except pg.TeamStoreError as exc:
        raise ToolError(str(exc)) from None
    except pg.driver().Error as exc:
        raise ToolError(f"cannot read the team store: {pg.describe(exc, url)}") from None
    return TeamReport(report=report, timezone=timezone, since=since, until=until,
                      rows=out[report], totals=out["totals"])
