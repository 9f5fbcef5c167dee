"""The one module of time conversions: both parsers, formatting, and values no calendar holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from blueplane_pipeline.core import times

T = "2026-01-02T03:04:05.678Z"
T_MS = 1767323045678


def test_iso_round_trip():
    assert times.parse_iso_ms(T) == T_MS
    assert times.iso_ms(T_MS) == T
    assert times.maybe_iso_ms(None) is None
    assert times.maybe_iso_ms(T_MS) == T
    assert times.iso_dt(datetime.fromtimestamp(T_MS / 1000, UTC)) == T
    # another offset, and naive (= UTC by contract)
    assert times.iso_dt(datetime(2026, 1, 2, 4, 4, 5, 678000,
                                 tzinfo=timezone(timedelta(hours=1)))) == T
    assert times.parse_iso_ms("2026-01-02T03:04:05.678") == T_MS
    assert times.parse_iso_ms("2026-01-02T04:04:05.678+01:00") == T_MS


def test_utc_now_has_the_stored_shape():
    now = times.utc_now()
    assert len(now) == 24 and now.endswith("Z")
    assert abs(times.parse_iso_ms(now) - datetime.now(UTC).timestamp() * 1000) < 5_000


def test_the_two_parsers_differ_only_on_numbers():
    assert times.parse_iso_ms(T_MS) is None  # ccusage reads strings only
    assert times.parse_ts_ms(T_MS) == T_MS  # milliseconds
    assert times.parse_ts_ms(T_MS / 1000) == T_MS  # seconds
    assert times.parse_ts_ms(T) == T_MS


@pytest.mark.parametrize("bad", [
    None, "", "garbage", "2026-13-45", True, [], {}, float("nan"), float("inf"),
    float("-inf"), 10**30, -(10**30), 2**63, 1e300,
])
def test_unreadable_times_are_none_never_an_exception(bad):
    assert times.parse_ts_ms(bad) is None
    assert times.epoch_to_iso(bad) is None


def test_epoch_to_iso():
    assert times.epoch_to_iso(T_MS) == T
    assert times.epoch_to_iso(0) is None
    assert times.epoch_to_iso(-5) is None
