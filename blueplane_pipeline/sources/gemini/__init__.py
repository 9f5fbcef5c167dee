"""Gemini CLI: hook events (``~/.gemini/settings.json``), sessions under
``~/.gemini/tmp/*/chats/`` and the token usage in them.

The platform module registered as ``gemini`` in ``core.platforms``.
"""

from blueplane_pipeline.sources.gemini import sessions
from blueplane_pipeline.sources.gemini.facts import facts
from blueplane_pipeline.sources.gemini.hooks import INSTALLER
from blueplane_pipeline.sources.gemini.usage import USAGE_EVENT_TYPES, usage_record
from blueplane_pipeline.sources.importer import Importer

IMPORTER = Importer(
    what="sessions",
    state_source=sessions.SOURCE,
    default_dirs=sessions.gemini_dirs,
    read=sessions.import_sessions,
    changed=sessions.changed_signatures,
    dir_option="--gemini-dir",
    supports_since=True,
    sensor_interval_s=60,
    dir_help="Gemini CLI data dir holding tmp/<project>/chats/ (repeatable). Default: "
    "GEMINI_DATA_DIR, else $GEMINI_CLI_HOME/.gemini, else ~/.gemini.",
)

__all__ = ["IMPORTER", "INSTALLER", "USAGE_EVENT_TYPES", "facts", "usage_record"]
