"""One record per API message: Claude Code writes a line per content block, each repeating
the whole ``usage``, and resumed or forked sessions copy earlier lines into new files.

Records are merged on ``(message.id, requestId)`` (``requestId`` absent: on ``message.id``
alone; no ``message.id``: never merged). Of two copies the winner is, in order: the one not
on a sidechain, the one with more tokens, the one in the earlier file (path order, compared
folder by folder) and earlier line. That is the copy ccusage 20.0.24 keeps, and because the
rule does not depend on arrival order, folding new records into stored ones incrementally
gives the same table as one pass over everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from blueplane_pipeline.usage.records import UsageRecord


def _place(rec: UsageRecord) -> tuple[tuple[str, ...], int]:
    return tuple(rec.source_file.split("/")), rec.source_line


def is_better(candidate: UsageRecord, existing: UsageRecord) -> bool:
    """Whether ``candidate`` should replace ``existing`` (same dedup key)."""
    if candidate.is_sidechain != existing.is_sidechain:
        return existing.is_sidechain
    if candidate.total_tokens != existing.total_tokens:
        return candidate.total_tokens > existing.total_tokens
    return _place(candidate) < _place(existing)


def dedupe(records: Iterable[UsageRecord]) -> dict[str, UsageRecord]:
    """The winning record per dedup key."""
    kept: dict[str, UsageRecord] = {}
    for rec in records:
        key = rec.dedup_key
        current = kept.get(key)
        if current is None or is_better(rec, current):
            kept[key] = rec
    return kept
