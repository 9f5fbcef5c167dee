"""Usage records out of stored events, for every platform that declares usage.

A platform's module says which of its stored event types can carry token usage
(``USAGE_EVENT_TYPES``) and reads one into a record (``usage_record``); see
``core.platforms``. Events are read through the one raw-event API.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from blueplane_pipeline.core import platforms
from blueplane_pipeline.core.platforms import Platform
from blueplane_pipeline.storage.reader import count_events, iter_events
from blueplane_pipeline.usage.records import UsageRecord


def usage_platforms() -> list[Platform]:
    """The registered platforms whose events can carry token usage."""
    return platforms.with_attr("usage_record")


def usage_records(conn: sqlite3.Connection, since_seq: int = 0, until_seq: int | None = None,
                  on_event: Callable[[], None] | None = None,
                  platform: str | None = None) -> Iterator[UsageRecord]:
    """Usage records of the stored events in ``(since_seq, until_seq]``, platform by
    platform (or of one ``platform``); ``on_event`` is called for every event read."""
    for platform_ in usage_platforms():
        if platform is not None and platform_.name != platform:
            continue
        yield from _platform_records(conn, platform_, since_seq, until_seq, on_event)


def _platform_records(conn: sqlite3.Connection, platform: Platform, since_seq: int,
                      until_seq: int | None, on_event: Callable[[], None] | None
                      ) -> Iterator[UsageRecord]:
    to_record = platform.attr("usage_record")
    types = platform.attr("USAGE_EVENT_TYPES")
    for ev in iter_events(conn, since_seq=since_seq, until_seq=until_seq,
                          platform=platform.name, event_types=types):
        if on_event is not None:
            on_event()
        rec = to_record(ev.seq, ev.envelope)
        if rec is not None:
            rec.platform = platform.name
            yield rec


def count_usage_events(conn: sqlite3.Connection) -> int:
    """How many events ``usage_records`` would read from the start."""
    return sum(count_events(conn, platform=p.name, event_types=p.attr("USAGE_EVENT_TYPES"))
               for p in usage_platforms())
