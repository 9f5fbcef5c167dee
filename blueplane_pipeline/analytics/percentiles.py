"""Exact percentiles over every value (no sketches, no averages of averages)."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values`` with linear interpolation between the
    two closest ranks (numpy's default): rank = q/100 · (n − 1)."""
    if not values:
        return None
    ordered = sorted(values)
    return percentile_sorted(ordered, q)


def percentile_sorted(ordered: Sequence[float], q: float) -> float | None:
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100.0
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    value = ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)
    return round(value, 3)


def p50_p95_p99(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    ordered = sorted(values)
    return (percentile_sorted(ordered, 50), percentile_sorted(ordered, 95),
            percentile_sorted(ordered, 99))
