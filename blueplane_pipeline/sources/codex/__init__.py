"""Codex CLI: hook events (``$CODEX_HOME/hooks.json``), rollouts under ``$CODEX_HOME``,
token usage per model response from them.

The platform module registered as ``codex`` in ``core.platforms``.
"""

from blueplane_pipeline.sources.codex import rollouts
from blueplane_pipeline.sources.codex.facts import facts
from blueplane_pipeline.sources.codex.hooks import INSTALLER
from blueplane_pipeline.sources.codex.usage import USAGE_EVENT_TYPES, usage_record
from blueplane_pipeline.sources.importer import Importer

# What a response is priced as when its rollout names no model (ccusage: gpt-5, reported
# with ``isFallback: true``).
FALLBACK_MODEL = "gpt-5"

IMPORTER = Importer(
    what="rollouts",
    state_source=rollouts.SOURCE,
    default_dirs=rollouts.codex_homes,
    read=rollouts.import_rollouts,
    changed=rollouts.changed_signatures,
    dir_option="--codex-home",
    supports_since=True,
    sensor_interval_s=60,
    dir_help="Codex home holding sessions/ and archived_sessions/ (repeatable). Default: "
    "CODEX_HOME, else ~/.codex.",
)

__all__ = ["FALLBACK_MODEL", "IMPORTER", "INSTALLER", "USAGE_EVENT_TYPES", "facts", "usage_record"]
