"""Claude Code: hook events, transcripts under ``<config>/projects/``, token usage from them.

The platform module registered as ``claude_code`` in ``core.platforms``.
"""

from blueplane_pipeline.sources.claude_code import transcripts
from blueplane_pipeline.sources.claude_code.facts import facts
from blueplane_pipeline.sources.claude_code.hooks import INSTALLER
from blueplane_pipeline.sources.claude_code.usage import USAGE_EVENT_TYPES, usage_record
from blueplane_pipeline.sources.importer import Importer

IMPORTER = Importer(
    what="transcripts", state_source=transcripts.SOURCE, default_dirs=transcripts.config_dirs,
    read=transcripts.import_transcripts, changed=transcripts.changed_signatures,
    dir_option="--claude-dir", supports_since=True, sensor_interval_s=60,
    dir_help="Claude config dir holding projects/ (repeatable). Default: CLAUDE_CONFIG_DIR "
             "(comma-separated), else ~/.config/claude and ~/.claude.")

__all__ = ["IMPORTER", "INSTALLER", "USAGE_EVENT_TYPES", "facts", "usage_record"]
