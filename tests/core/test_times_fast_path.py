"""The canonical-time fast path of ``parse_iso_ms`` (ingest parses one per event) gives
exactly what ``datetime`` gives, and refuses what ``datetime`` refuses."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from blueplane_pipeline.core import times

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def exact_ms(value: str) -> int:
    return (datetime.fromisoformat(value.replace("Z", "+00:00")) - EPOCH) // timedelta(
        milliseconds=1
    )


def test_random_canonical_times_match_datetime():
    rng = random.Random(9)
    for _ in range(20_000):
        moment = EPOCH + timedelta(milliseconds=rng.randrange(-(10**12), 6 * 10**12))
        value = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert times.parse_iso_ms(value) == exact_ms(value), value
        # the same instant written another way takes the general path, same answer
        assert times.parse_iso_ms(value.replace("Z", "+00:00")) == exact_ms(value)


def test_no_millisecond_is_lost_to_float_rounding():
    # timestamp() * 1000 gives 1086009440908.9999 for this one
    assert times.parse_iso_ms("2004-05-31T13:17:20.909Z") == 1086009440909


@pytest.mark.parametrize(
    "value",
    [
        "2026-13-01T00:00:00.000Z",
        "2026-02-30T00:00:00.000Z",
        "2026-01-01T24:00:00.000Z",
        "2026-01-01T00:60:00.000Z",
        "2026-01-01T0a:00:00.000Z",
        "2026/01/01T00:00:00.000Z",
        "\uff12026-01-01T00:00:00.000Z",
        "2026-01-01T00:00:00.00\uff10Z",
        "0000-01-01T00:00:00.000Z",
    ],
)
def test_what_datetime_refuses_is_refused(value):
    assert times.parse_iso_ms(value) is None
