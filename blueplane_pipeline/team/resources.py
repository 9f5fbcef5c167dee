"""The team code location's resource: where the team store is and the team's timezone."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from blueplane_pipeline.team import pg
from blueplane_pipeline.team.settings import URL_ENV

TZ_ENV = "BLUEPLANE_TEAM_TIMEZONE"


class TeamStoreResource(dg.ConfigurableResource):
    """Connections to the team Postgres (default ``BLUEPLANE_TEAM_URL``, the same database
    the deployment's ``dagster.yaml`` stores runs in)."""

    url: str = ""
    timezone: str = ""

    @property
    def store_url(self) -> str:
        return self.url or os.environ.get(URL_ENV, "")

    @property
    def tz(self) -> str:
        return self.timezone or os.environ.get(TZ_ENV) or "UTC"

    def connect(self) -> Any:
        """A connection to the migrated store (the caller closes it)."""
        return pg.open_store(self.store_url, "blueplane-team")
