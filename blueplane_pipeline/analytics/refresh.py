"""The whole analytics refresh in order, in-process and without Dagster: for benchmarks and
tests. ``blueplane refresh`` and the pipeline materialize the assets, which call the three
steps separately."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

from blueplane_pipeline.analytics.insights import InsightStats, refresh_insights
from blueplane_pipeline.analytics.rollups import RollupStats, refresh_rollups
from blueplane_pipeline.analytics.session_refresh import (
    Progress,
    SessionRefreshStats,
    refresh_sessions,
)


@dataclass
class RefreshStats:
    sessions: SessionRefreshStats
    rollups: RollupStats
    insights: InsightStats

    @property
    def seconds(self) -> float:
        return round(self.sessions.seconds + self.rollups.seconds + self.insights.seconds, 3)

    def as_dict(self) -> dict:
        return {"sessions": asdict(self.sessions), "rollups": asdict(self.rollups),
                "insights": asdict(self.insights), "seconds": self.seconds}


def refresh_all(conn: sqlite3.Connection, *, full: bool = False,
                progress: Progress | None = None) -> RefreshStats:
    sessions = refresh_sessions(conn, full=full, progress=progress)
    rollups = refresh_rollups(conn, full=full)
    insights = refresh_insights(conn)
    return RefreshStats(sessions, rollups, insights)
