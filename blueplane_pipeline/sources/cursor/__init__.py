"""Cursor: hook events (``hooks.json``) and its local store (``state.vscdb``).

The platform module registered as ``cursor`` in ``core.platforms``. Cursor's store keeps no
cache tokens or cost, so no usage is declared.
"""

from blueplane_pipeline.sources.cursor import store
from blueplane_pipeline.sources.cursor.facts import facts
from blueplane_pipeline.sources.cursor.hooks import INSTALLER
from blueplane_pipeline.sources.importer import Importer

IMPORTER = Importer(
    what="stores", state_source=store.SOURCE, default_dirs=store.default_dirs,
    read=store.import_cursor, changed=store.changed_signatures, dir_option="--cursor-dir",
    sensor_interval_s=120,
    dir_help="Cursor's User dir (holding workspaceStorage/ and globalStorage/), repeatable. "
             "Default: the platform's standard location.")

__all__ = ["IMPORTER", "INSTALLER", "facts"]
