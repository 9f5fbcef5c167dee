"""The cost of one deduplicated message, as ccusage prices it in its default "auto" mode.

``costUSD`` written in the log wins when present (old Claude Code versions wrote it).
Otherwise: input·p_in + output·p_out + 5-minute cache writes·p_cw + 1-hour cache
writes·2·p_in + cache reads·p_cr. Long context, two ways, as the price says: LiteLLM's
``*_above_200k_tokens`` prices bill each bucket's tokens beyond 200k (Anthropic's marginal
rule); a model whose long-context band comes from models.dev (``threshold``: OpenAI's
272k, Gemini's 200k) bills the whole request at the band's prices once its prompt
(input + cache writes + cache reads) passes the threshold. A fast-mode request
(``speed == "fast"``) costs the model's fast multiplier times that; DeepSeek V4's prices
follow its schedule (``PriceTable.price_at``). A model with no price
costs 0 and is reported as unknown: never guessed.
"""

from __future__ import annotations

from blueplane_pipeline.core.pricing import TIER_THRESHOLD, ModelPrice, PriceTable
from blueplane_pipeline.usage.records import UsageRecord

ONE_HOUR_WRITE_FACTOR = 2.0


def tiered(tokens: int, base: float, above: float | None,
           threshold: int = TIER_THRESHOLD) -> float:
    if tokens <= 0:
        return 0.0
    if above is not None and tokens > threshold:
        return threshold * base + (tokens - threshold) * above
    return tokens * base


def tokens_cost(price: ModelPrice, input_tokens: int, output_tokens: int, cache_5m: int,
                cache_1h: int, cache_read: int, speed: str | None = None) -> float:
    fast = price.fast if speed == "fast" else 1.0
    if price.threshold is not None:
        return fast * _whole_request_cost(price, input_tokens, output_tokens, cache_5m,
                                          cache_1h, cache_read)
    one_hour_above = (price.input_above * ONE_HOUR_WRITE_FACTOR
                      if price.input_above is not None else None)
    return fast * (tiered(input_tokens, price.input, price.input_above)
            + tiered(output_tokens, price.output, price.output_above)
            + tiered(cache_5m, price.cache_write, price.cache_write_above)
            + tiered(cache_1h, price.input * ONE_HOUR_WRITE_FACTOR, one_hour_above)
            + tiered(cache_read, price.cache_read, price.cache_read_above))


def _whole_request_cost(price: ModelPrice, input_tokens: int, output_tokens: int,
                        cache_5m: int, cache_1h: int, cache_read: int) -> float:
    assert price.threshold is not None
    long = input_tokens + cache_5m + cache_1h + cache_read > price.threshold
    p_in = price.input_above if long and price.input_above is not None else price.input
    p_out = price.output_above if long and price.output_above is not None else price.output
    p_cw = (price.cache_write_above if long and price.cache_write_above is not None
            else price.cache_write)
    p_cr = (price.cache_read_above if long and price.cache_read_above is not None
            else price.cache_read)
    return (input_tokens * p_in + output_tokens * p_out + cache_5m * p_cw
            + cache_1h * p_in * ONE_HOUR_WRITE_FACTOR + cache_read * p_cr)


def priced_model(rec: UsageRecord) -> str | None:
    """The model a record is priced as: its own, or for a record that names none the
    platform's fallback (``FALLBACK_MODEL`` in its module: Codex's ``gpt-5``, as ccusage)."""
    if rec.model:
        return rec.model
    from blueplane_pipeline.core import platforms

    platform = platforms.get(rec.platform)
    fallback = platform.attr("FALLBACK_MODEL") if platform is not None else None
    return fallback if isinstance(fallback, str) else None


def message_cost(rec: UsageRecord, prices: PriceTable) -> tuple[float, str]:
    """``(cost in USD, where it came from)``: ``log``, ``computed`` or ``unknown_model``."""
    if rec.cost_usd_log is not None:
        return rec.cost_usd_log, "log"
    found = prices.price_at(priced_model(rec), rec.ts_ms)
    price = found[1] if found else None
    if price is None:
        return 0.0, "unknown_model"
    return tokens_cost(price, rec.input_tokens, rec.output_tokens + rec.thoughts_tokens,
                       rec.cache_creation_5m, rec.cache_creation_1h, rec.cache_read_tokens,
                       rec.speed), "computed"
