"""Time windows a report covers: ``1h``/``24h``/``<N>h`` (rolling, ending now), ``<N>d``
(the last N UTC calendar days including today) and ``all``; and the dates people type.

Whole-day windows are answered from the ``metrics_daily`` rollup (the fast path behind
``blueplane metrics``); rolling windows from the row-level tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from blueplane_pipeline.core.times import iso_dt
from blueplane_pipeline.read.connect import BadRequest

# What shell completion and help offer (any <N>h / <N>d works).
COMMON_PERIODS = ("1h", "24h", "7d", "30d", "90d", "all")


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in ISO-8601 UTC (``None`` = unbounded).

    ``whole_days`` windows start and end at UTC midnight and can be answered from the
    daily rollups.
    """

    label: str
    start: str | None
    end: str | None
    whole_days: bool

    @property
    def start_day(self) -> str | None:
        return self.start[:10] if self.start else None

    @property
    def end_day(self) -> str | None:
        """First day *not* in the window (whole-day windows) / day of ``end``."""
        return self.end[:10] if self.end else None


EVERYTHING = Window("all", None, None, True)
# Twice this must stay within datetime's range back from today (the previous window too).
_MAX_DAYS = 300_000
_PERIOD = re.compile(r"^(\d+)([hd])$")


def parse_period(period: str, now: datetime | None = None) -> tuple[Window, Window | None]:
    """``"24h"``/``"7d"``/``"all"`` -> (window, the window just before it or ``None``)."""
    now = now or datetime.now(UTC)
    period = period.strip().lower()
    if period == "all":
        return EVERYTHING, None
    match = _PERIOD.match(period)
    if not match or int(match.group(1)) == 0:
        raise BadRequest(f"unknown period {period!r}: use 1h, 24h, 7d, 30d, <N>h, <N>d or all")
    n, unit = int(match.group(1)), match.group(2)
    # The window and the one before it must both fit the calendar (from year 1).
    limit = _MAX_DAYS * (24 if unit == "h" else 1)
    if n > limit:
        raise BadRequest(f"period {period!r} reaches back before the calendar starts: use at "
                         f"most {limit:,}{unit}, or all")
    if unit == "h":
        span = timedelta(hours=n)
        end = now
        whole_days = False
    else:
        span = timedelta(days=n)
        end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) \
            + timedelta(days=1)
        whole_days = True
    cur = Window(period, iso_dt(end - span), iso_dt(end), whole_days)
    prev = Window(f"previous {period}", iso_dt(end - 2 * span), iso_dt(end - span), whole_days)
    return cur, prev


def parse_when(value: str, *, end_of_day: bool = False) -> str:
    """A user date (``YYYY-MM-DD``) or ISO time -> ISO-8601 UTC; ``BadRequest`` otherwise.

    With ``end_of_day`` a bare date means the start of the next day (exclusive bounds).
    """
    value = value.strip()
    try:
        if len(value) == 10:
            dt = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return iso_dt(dt + timedelta(days=1) if end_of_day else dt)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"not a date: {value!r} (use YYYY-MM-DD or an ISO-8601 time)") from None
    return iso_dt(dt)
