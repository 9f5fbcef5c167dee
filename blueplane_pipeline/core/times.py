"""Every conversion between instants and text, in one place.

Stored times are ISO-8601 UTC strings with milliseconds and a ``Z`` (``2026-01-02T03:04:05.678Z``)
or epoch milliseconds. Two parsers with deliberately different rules:

- :func:`parse_iso_ms` reads only ISO strings (ccusage's rule for transcript timestamps);
- :func:`parse_ts_ms` also takes epoch numbers, in seconds or milliseconds (what hook
  envelopes and Cursor's store carry).

Both return ``None`` for anything they cannot read, including numbers no calendar holds
(NaN, infinities, years past 9999), so one bad event can never stop a batch.

Standard library only, and ``datetime`` is imported where it is used: the hook imports
this module for :func:`utc_now` on every event.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

# Epoch milliseconds of 0001-01-01 and 9999-12-31T23:59:59.999Z: what ``datetime`` can hold.
MIN_MS = -62_135_596_800_000
MAX_MS = 253_402_300_799_999
# Epoch numbers above this are milliseconds (from 1973), below it seconds (to year 5138).
_MS_THRESHOLD = 1e11


def utc_now() -> str:
    """Now, as a stored time."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def iso_ms(ms: int) -> str:
    """Epoch milliseconds -> ``2025-06-08T10:00:00.000Z`` (how ccusage prints instants)."""
    from datetime import UTC, datetime

    ms = int(ms)
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


def maybe_iso_ms(ms: int | None) -> str | None:
    """:func:`iso_ms`, passing ``None`` through (an instant not known yet)."""
    return None if ms is None else iso_ms(ms)


def iso_dt(dt: datetime) -> str:
    """An aware ``datetime`` -> a stored time (naive ones are taken as UTC)."""
    from datetime import UTC

    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


_DAY_MS: dict[str, int | None] = {}  # "YYYY-MM-DD" -> epoch ms of its midnight UTC


def _canonical_iso_ms(value: str) -> int | None:
    """The stored form ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (every envelope's ``ts``) without
    ``datetime``: ingest parses one per event. ``None`` when ``value`` is not exactly it."""
    if value[19] != "." or value[13] != ":" or value[16] != ":" or value[10] != "T":
        return None
    clock = value[11:13] + value[14:16] + value[17:19] + value[20:23]
    if not clock.isdigit() or not clock.isascii():
        return None
    day = value[:10]
    base = _DAY_MS.get(day, -1)
    if base == -1:
        from datetime import UTC, datetime

        try:
            base = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 1000
        except ValueError:
            base = None
        if len(_DAY_MS) < 100_000 and value[4] == "-" and value[7] == "-":
            _DAY_MS[day] = base
        elif value[4] != "-" or value[7] != "-":
            return None
    if base is None:
        return None
    h, m, sec, ms = int(clock[:2]), int(clock[2:4]), int(clock[4:6]), int(clock[6:])
    if h > 23 or m > 59 or sec > 59:
        return None
    return base + ((h * 60 + m) * 60 + sec) * 1000 + ms


def parse_iso_ms(value: object) -> int | None:
    """Epoch ms of an ISO-8601 string; naive times are UTC. Anything else -> ``None``."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 24 and value[23] == "Z":
        fast = _canonical_iso_ms(value)
        if fast is not None:
            return fast
    from datetime import UTC, datetime, timedelta

    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:  # integer arithmetic: ``timestamp() * 1000`` loses a millisecond to float rounding
        return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    except (OverflowError, OSError, ValueError):
        return None


def epoch_ms(value: object) -> int | None:
    """An epoch number in seconds or milliseconds -> ms, or ``None`` if no calendar holds it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    ms = value if abs(value) > _MS_THRESHOLD else value * 1000
    if not MIN_MS <= ms <= MAX_MS:
        return None
    return int(ms)


def parse_ts_ms(value: object) -> int | None:
    """Epoch ms of an ISO string or an epoch number (seconds or ms); else ``None``."""
    if isinstance(value, str):
        return parse_iso_ms(value)
    return epoch_ms(value)


def epoch_to_iso(value: object) -> str | None:
    """An epoch number (seconds or ms, > 0) -> a stored time, or ``None``."""
    ms = epoch_ms(value)
    if ms is None or ms <= 0:
        return None
    return iso_ms(ms)
