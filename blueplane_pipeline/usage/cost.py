"""The cost of one deduplicated message, as ccusage prices it in its default "auto" mode.

``costUSD`` written in the log wins when present (old Claude Code versions wrote it).
Otherwise: input·p_in + output·p_out + 5-minute cache writes·p_cw + 1-hour cache
writes·2·p_in + cache reads·p_cr, where each bucket's tokens beyond 200k are billed at the
model's ``*_above_200k_tokens`` price when it has one. A model with no price costs 0 and is
reported as unknown: never guessed.
"""

from __future__ import annotations

from blueplane_pipeline.core.pricing import TIER_THRESHOLD, ModelPrice, PriceTable
from blueplane_pipeline.usage.records import UsageRecord

ONE_HOUR_WRITE_FACTOR = 2.0


def tiered(tokens: int, base: float, above: float | None) -> float:
    if tokens <= 0:
        return 0.0
    if above is not None and tokens > TIER_THRESHOLD:
        return TIER_THRESHOLD * base + (tokens - TIER_THRESHOLD) * above
    return tokens * base


def tokens_cost(price: ModelPrice, input_tokens: int, output_tokens: int, cache_5m: int,
                cache_1h: int, cache_read: int) -> float:
    one_hour_above = (price.input_above * ONE_HOUR_WRITE_FACTOR
                      if price.input_above is not None else None)
    return (tiered(input_tokens, price.input, price.input_above)
            + tiered(output_tokens, price.output, price.output_above)
            + tiered(cache_5m, price.cache_write, price.cache_write_above)
            + tiered(cache_1h, price.input * ONE_HOUR_WRITE_FACTOR, one_hour_above)
            + tiered(cache_read, price.cache_read, price.cache_read_above))


def message_cost(rec: UsageRecord, prices: PriceTable) -> tuple[float, str]:
    """``(cost in USD, where it came from)``: ``log``, ``computed`` or ``unknown_model``."""
    if rec.cost_usd_log is not None:
        return rec.cost_usd_log, "log"
    price = prices.find(rec.model)
    if price is None:
        return 0.0, "unknown_model"
    return tokens_cost(price, rec.input_tokens, rec.output_tokens, rec.cache_creation_5m,
                       rec.cache_creation_1h, rec.cache_read_tokens), "computed"
