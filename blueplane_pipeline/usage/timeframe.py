"""Timezones and date filters for usage reports (``--timezone``, ``--since``, ``--until``)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path


class TimeframeError(ValueError):
    """A timezone or date the user gave that cannot be used."""


def resolve_timezone(name: str | None) -> tzinfo:
    """A named zone (``UTC``, ``Europe/Paris``), or this machine's zone when ``name`` is
    empty: ``TZ``, then the ``/etc/localtime`` link, then the current UTC offset.

    ``UTC`` itself needs no zone database (``zoneinfo`` costs a report ~10 ms to import)."""
    if name == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise TimeframeError(f"unknown timezone {name!r} (try UTC or Area/City)") from None
    env = os.environ.get("TZ", "").lstrip(":")
    if env:
        try:
            return ZoneInfo(env)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    link = Path("/etc/localtime")
    if link.is_symlink():
        target = str(link.resolve())
        if "zoneinfo/" in target:
            try:
                return ZoneInfo(target.split("zoneinfo/", 1)[1])
            except (ZoneInfoNotFoundError, ValueError):
                pass
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


def parse_day(value: str) -> date:
    """``YYYYMMDD`` (ccusage's form) or ``YYYY-MM-DD``."""
    text = value.strip()
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TimeframeError(f"{value!r} is not a date (use YYYYMMDD or YYYY-MM-DD)") from None


def _local_midnight_ms(day: date, tz: tzinfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)


def day_bounds(since: str | None, until: str | None, tz: tzinfo) -> tuple[int | None, int | None]:
    """Epoch-ms bounds ``[since 00:00, until+1 00:00)`` in ``tz`` (both days included)."""
    start = parse_day(since) if since else None
    end = parse_day(until) if until else None
    if start and end and start > end:
        raise TimeframeError(f"--since {since} is after --until {until}")
    return (_local_midnight_ms(start, tz) if start else None,
            _local_midnight_ms(end + timedelta(days=1), tz) if end else None)
