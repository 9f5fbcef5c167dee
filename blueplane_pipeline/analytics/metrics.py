"""Every metric formula, once: the rates of ``docs/metrics.md`` and the percentile method.

A rate is a ratio of summed counters (never an average of rates) and is undefined —
``None`` in Python, ``NULL`` in SQL — when its divisor is 0. Each rate has a Python form
(counts in, float out) and a SQL form (expressions in, expression out), so the rollups,
the read API, the MCP server and Datasette's canned queries compute the same number.

Percentiles are exact over every value, with linear interpolation between the two closest
ranks (numpy's default): rank = q/100 · (n − 1), rounded to 3 decimals. Ingest batch
timings, latency rollups, reports and Datasette's ``blueplane_percentile`` all use it.

Standard library only (the hook's neighbours and the CLI's report paths import it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

# ------------------------------------------------------------------------------- rates

# Rates stored in the analytics tables are rounded to this many digits; readers that sum
# rows recompute rates from the counters instead of reading these.
STORED_DIGITS = 6


def ratio(num: float, den: float, digits: int | None = None) -> float | None:
    """``num ÷ den``, ``None`` when ``den`` is 0; rounded to ``digits`` when given."""
    if not den:
        return None
    value = num / den
    return round(value, digits) if digits is not None else value


def error_rate(errors: int, success: int, digits: int | None = None) -> float | None:
    """errors ÷ executed calls (success + error): refusals and interrupts are not errors."""
    return ratio(errors, success + errors, digits)


def interruption_rate(interrupted: int, calls: int, digits: int | None = None) -> float | None:
    """interrupted ÷ calls."""
    return ratio(interrupted, calls, digits)


def rejection_rate(rejected: int, calls: int, digits: int | None = None) -> float | None:
    """rejected ÷ calls."""
    return ratio(rejected, calls, digits)


def acceptance_rate(accepted: int, rejected: int, digits: int | None = None) -> float | None:
    """Edit tools: accepted ÷ (accepted + rejected), accepted = the edit executed."""
    return ratio(accepted, accepted + rejected, digits)


def user_acceptance_rate(accepts: int | None, decisions: int | None,
                         digits: int | None = None) -> float | None:
    """Tool permission decisions a person made (OTel ``tool_decision``, source ``user_*``):
    accepted ÷ decided. Configuration and hook decisions are not the user's."""
    return ratio(accepts or 0, decisions or 0, digits)


def user_modified_share(modified: int, accepted: int,
                        digits: int | None = None) -> float | None:
    """Accepted edits the user modified first ÷ accepted edits."""
    return ratio(modified, accepted, digits)


def success_rate(success: int, decided: int, digits: int | None = None) -> float | None:
    """success ÷ calls with an outcome (everything but pending)."""
    return ratio(success, decided, digits)


def daily_rates(row: Mapping, digits: int | None = None) -> dict[str, float | None]:
    """The four rates of a row of summed counters in ``metrics_daily``'s vocabulary."""
    accepted = row.get("edits_accepted", 0)
    return {
        "error_rate": error_rate(row.get("tool_errors", 0), row.get("tool_success", 0), digits),
        "interruption_rate": interruption_rate(row.get("tool_interrupted", 0),
                                               row.get("tool_calls", 0), digits),
        "acceptance_rate": acceptance_rate(accepted, row.get("edits_rejected", 0), digits),
        "user_modified_share": user_modified_share(row.get("edits_user_modified", 0),
                                                   accepted, digits),
    }


# SQL forms: the same formulas over SQL expressions (e.g. ``sum(edits_accepted)``).


def ratio_sql(num: str, den: str) -> str:
    """``num ÷ den`` as a real number, NULL when ``den`` is 0 (parenthesised: composable)."""
    return f"(1.0 * ({num}) / nullif({den}, 0))"


def error_rate_sql(errors: str, success: str) -> str:
    return ratio_sql(errors, f"{success} + {errors}")


def interruption_rate_sql(interrupted: str, calls: str) -> str:
    return ratio_sql(interrupted, calls)


def acceptance_rate_sql(accepted: str, rejected: str) -> str:
    return ratio_sql(accepted, f"{accepted} + {rejected}")


def user_modified_share_sql(modified: str, accepted: str) -> str:
    return ratio_sql(modified, accepted)


def user_acceptance_rate_sql(accepts: str, decisions: str) -> str:
    return ratio_sql(accepts, decisions)


# Over summed metrics_daily counters: what Datasette's canned queries and charts show.
DAILY_RATES_SQL = {
    "error_rate": error_rate_sql("sum(tool_errors)", "sum(tool_success)"),
    "interruption_rate": interruption_rate_sql("sum(tool_interrupted)", "sum(tool_calls)"),
    "acceptance_rate": acceptance_rate_sql("sum(edits_accepted)", "sum(edits_rejected)"),
    "user_modified_share": user_modified_share_sql("sum(edits_user_modified)",
                                                   "sum(edits_accepted)"),
}


# ------------------------------------------------------------------------ productivity

PRODUCTIVITY_FORMULA = (
    "Per day and over the period: active_hours = active_s ÷ 3600 (active time: gaps between "
    "consecutive events, each capped at 5 minutes, per turn); accepted_edits_per_active_hour "
    "= edits_accepted ÷ active_hours; lines_per_active_hour = (lines_added + lines_removed) ÷ "
    "active_hours; cost_per_accepted_edit = cost_usd ÷ edits_accepted. Undefined (null) when "
    "the divisor is 0. Inputs are the columns of metrics_daily (docs/metrics.md)."
)


def productivity(row: Mapping) -> dict[str, float | None]:
    """The ``PRODUCTIVITY_FORMULA`` figures of a row of summed metrics_daily counters."""
    hours = row["active_s"] / 3600
    return {
        "active_hours": round(hours, 3),
        "accepted_edits_per_active_hour": ratio(row["edits_accepted"], hours, 3),
        "lines_per_active_hour": ratio(row["lines_added"] + row["lines_removed"], hours, 3),
        "cost_per_accepted_edit": ratio(row["cost_usd"], row["edits_accepted"], 6),
    }


# ------------------------------------------------------------------------- percentiles


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values``; ``None`` when there are none."""
    return percentile_sorted(sorted(values), q)


def percentile_sorted(ordered: Sequence[float], q: float) -> float | None:
    """``percentile`` of values already in ascending order (skips the sort)."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100.0
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    value = ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)
    return round(value, 3)


def p50_p95_p99(values: Iterable[float]) -> tuple[float | None, float | None, float | None]:
    ordered = sorted(values)
    return (percentile_sorted(ordered, 50), percentile_sorted(ordered, 95),
            percentile_sorted(ordered, 99))
