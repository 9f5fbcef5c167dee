"""What a platform declares to have its history on disk imported.

``blueplane import <cli_name>``, the import sensor and its job are all built from one
:class:`Importer` (the platform module's ``IMPORTER``, found through ``core.platforms``),
and ``sources.run.run_import`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from blueplane_pipeline.core import platforms

# (path, size, mtime_ns) of one file that grew, appeared or changed since the last import.
Signature = tuple[str, int, int]


@dataclass(frozen=True)
class Importer:
    what: str  # what is imported, for people: "transcripts", "Cursor stores"
    state_source: str  # the key of this importer's rows in ``import_offsets``
    default_dirs: Callable[[], list[Path]]
    # read(conn, sink, *, dirs, privacy_mode, since_ms, progress) -> the run's SentStats
    read: Callable[..., object]
    # changed(import states, dirs) -> signatures of what a run would read (stats only)
    changed: Callable[[dict, list[Path]], list[Signature]]
    dir_option: str  # e.g. "--claude-dir": the CLI option naming the folders to read
    dir_help: str
    supports_since: bool = False
    sensor_interval_s: int = 60


def importer_of(name: str) -> Importer:
    """The importer of a platform (envelope or command-line name)."""
    platform = platforms.from_cli(name)
    found = platform.attr("IMPORTER") if platform is not None else None
    if not isinstance(found, Importer):
        raise ValueError(f"no history importer for {name!r}")
    return found


def importers() -> dict[str, Importer]:
    """Every registered importer, by the command-line name of its platform."""
    return {p.cli_name: p.attr("IMPORTER") for p in platforms.all_platforms()
            if isinstance(p.attr("IMPORTER"), Importer)}
