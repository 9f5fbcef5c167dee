"""The Dagster resource: where this deployment's data lives, and connections to it.

Every asset, check and sensor takes its paths and connections from here (never from
``core.config`` directly), so a resource configured with another ``home`` moves all of
them; by default it follows ``BLUEPLANE_HOME`` / ``BLUEPLANE_REDIS_URL``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg

from blueplane_pipeline.core import config


class BlueplaneResource(dg.ConfigurableResource):
    """Paths of the runtime home and a connection factory over its ``telemetry.db``."""

    home: str = ""
    redis_url: str = ""

    @property
    def db_path(self) -> Path:
        return Path(self.home) / "telemetry.db" if self.home else config.db_path()

    @property
    def spool_dir(self) -> Path:
        if not self.home:
            return config.spool_dir()
        path = Path(self.home) / "spool"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    @property
    def stream_url(self) -> str:
        return self.redis_url or config.redis_url()

    def writer(self) -> sqlite3.Connection:
        """A writer connection, the schema migrated (the caller closes it)."""
        from blueplane_pipeline.storage.db import open_db

        return open_db(self.db_path)

    def reader(self) -> sqlite3.Connection | None:
        """A read-only connection, or ``None`` while no database exists yet."""
        from blueplane_pipeline.storage.db import connect

        if not self.db_path.exists():
            return None
        return connect(self.db_path, readonly=True)
