"""Dagster assets, one module per domain; ``ASSETS`` is what the definitions load."""

from blueplane_pipeline.orchestration.assets.analytics import ANALYTICS_ASSETS
from blueplane_pipeline.orchestration.assets.otel import OTEL_ASSETS
from blueplane_pipeline.orchestration.assets.raw import raw_events
from blueplane_pipeline.orchestration.assets.surfaces import SURFACE_ASSETS
from blueplane_pipeline.orchestration.assets.team import team_facts_published
from blueplane_pipeline.orchestration.assets.token_usage import token_usage

ASSETS = [raw_events, token_usage, *OTEL_ASSETS, *ANALYTICS_ASSETS, *SURFACE_ASSETS,
          team_facts_published]
