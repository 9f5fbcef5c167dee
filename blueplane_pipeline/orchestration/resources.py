"""Dagster resources: where the database and the stream are."""


from pathlib import Path

import dagster as dg

from blueplane_pipeline.core import config


class BlueplaneResource(dg.ConfigurableResource):
    """Paths of the runtime home; empty fields follow ``BLUEPLANE_HOME``/``BLUEPLANE_REDIS_URL``."""

    home: str = ""
    redis_url: str = ""

    @property
    def db_path(self) -> Path:
        return Path(self.home) / "telemetry.db" if self.home else config.db_path()

    @property
    def stream_url(self) -> str:
        return self.redis_url or config.redis_url()
