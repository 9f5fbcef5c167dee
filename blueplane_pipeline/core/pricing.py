"""Model prices: the list ccusage 20.0.24 embeds for ``--offline``, resolved the way it does.

Shipped data (``data/``, built by ``tools/build_prices.py`` from the ccusage binary, see
``data/PRICES.md``): ``model_prices.json`` (the LiteLLM entries, in LiteLLM's field names),
``builtin_prices.json`` (the last-resort prices ccusage keeps in code), ``fast_multipliers.json``
(its fast-mode multipliers) and ``models_dev_prices.json`` (the models.dev snapshot it falls
back to). ``blueplane pricing update FILE`` installs a LiteLLM list the user downloaded under
``BLUEPLANE_HOME/pricing/``; it then replaces the shipped LiteLLM entries (as ccusage's live
refresh does) while the built-in and models.dev prices still fill the gaps.

Lookup of a model name (ccusage's order, so the same log prices the same): the exact key;
the built-in alias (``gpt-5.6`` -> ``gpt-5.6-sol``); then the longest key that contains the
name or is contained in it at word boundaries, where ``.`` and ``@`` count as ``-`` and a
trailing version number is never cut through (``claude-opus-4`` does not price
``claude-opus-4-1`` but does price ``claude-opus-4-20250514``), so provider prefixes
(``openrouter/anthropic/claude-…``, ``anthropic.claude-…-v1:0``) and dated suffixes resolve;
then the same steps in the models.dev snapshot, where a separately priced tier
(``…-fast``, ``…@eu``) is only ever matched by its own name. No match means no price: the
caller reports the model as unknown with cost 0 rather than guessing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
SHIPPED_PRICES = DATA / "model_prices.json"
BUILTIN_PRICES = DATA / "builtin_prices.json"
FAST_MULTIPLIERS = DATA / "fast_multipliers.json"
MODELS_DEV_PRICES = DATA / "models_dev_prices.json"
MODELS_DEV_RULES = DATA / "models_dev_rules.json"
SCHEDULED_PRICES = DATA / "scheduled_prices.json"
# Prices LiteLLM may leave out default from the input price, as Anthropic bills them.
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1
TIER_THRESHOLD = 200_000
_DATE_SUFFIX_DIGITS = 8
# ccusage's built-in aliases: family names billed as the variant they point to.
PRICING_ALIASES = {"gpt-5.6": "gpt-5.6-sol", "gpt-5.3-spark": "gpt-5.3-codex-spark"}


class PriceListError(ValueError):
    """A price list that cannot be used (not JSON, wrong shape, no usable entry)."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per token. ``*_above`` apply to the tokens beyond ``threshold`` (200k unless the
    model publishes its own long-context boundary); ``fast`` multiplies a fast-mode request."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    input_above: float | None = None
    output_above: float | None = None
    cache_write_above: float | None = None
    cache_read_above: float | None = None
    fast: float = 1.0
    threshold: int | None = None

    @property
    def tier_threshold(self) -> int:
        return self.threshold or TIER_THRESHOLD

    def has_tiers(self) -> bool:
        return any(v is not None for v in (self.input_above, self.output_above,
                                           self.cache_write_above, self.cache_read_above))

    def as_dict(self) -> dict[str, float | None]:
        return {f: getattr(self, f) for f in self.__slots__}


def _number(entry: dict, key: str) -> float | None:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value < 0 or value != value or value == float("inf"):  # negative, NaN, inf: unusable
        return None
    return float(value)


def _fast_of(entry: dict) -> float | None:
    specific = entry.get("provider_specific_entry")
    return _number(specific, "fast") if isinstance(specific, dict) else None


def price_from_entry(entry: object, fast: float | None = None) -> ModelPrice | None:
    """One LiteLLM entry -> prices, or ``None`` when it lacks input or output prices."""
    if not isinstance(entry, dict):
        return None
    p_in = _number(entry, "input_cost_per_token")
    p_out = _number(entry, "output_cost_per_token")
    if p_in is None or p_out is None:
        return None
    p_cw = _number(entry, "cache_creation_input_token_cost")
    p_cr = _number(entry, "cache_read_input_token_cost")
    return ModelPrice(
        input=p_in,
        output=p_out,
        cache_write=p_in * CACHE_WRITE_FACTOR if p_cw is None else p_cw,
        cache_read=p_in * CACHE_READ_FACTOR if p_cr is None else p_cr,
        input_above=_number(entry, "input_cost_per_token_above_200k_tokens"),
        output_above=_number(entry, "output_cost_per_token_above_200k_tokens"),
        cache_write_above=_number(entry, "cache_creation_input_token_cost_above_200k_tokens"),
        cache_read_above=_number(entry, "cache_read_input_token_cost_above_200k_tokens"),
        fast=_fast_of(entry) or fast or 1.0,
    )


def parse_price_list(data: object, fast: FastMultipliers | None = None
                     ) -> dict[str, ModelPrice]:
    """Validate a decoded LiteLLM price list; raise ``PriceListError`` if it is unusable."""
    if not isinstance(data, dict):
        raise PriceListError("a price list is a JSON object keyed by model name")
    prices = {}
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        price = price_from_entry(value, fast.multiplier_for(key) if fast else None)
        if price is not None:
            prices[key] = price
    if not prices:
        raise PriceListError(
            "no entry has numeric input_cost_per_token and output_cost_per_token "
            "(is this LiteLLM's model_prices_and_context_window.json?)")
    return prices


KEPT_FIELDS = (
    "litellm_provider", "max_input_tokens", "input_cost_per_token", "output_cost_per_token",
    "cache_creation_input_token_cost", "cache_creation_input_token_cost_above_1hr",
    "cache_read_input_token_cost", "input_cost_per_token_above_200k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "cache_creation_input_token_cost_above_200k_tokens",
    "cache_read_input_token_cost_above_200k_tokens",
)


def claude_subset(*lists: dict) -> dict[str, dict]:
    """The Claude entries of LiteLLM lists, newest list first (older lists only add models
    the newer ones dropped): a smaller list for people who want only Claude prices."""
    out: dict[str, dict] = {}
    for data in lists:
        for key, entry in data.items():
            if key in out or "claude" not in key.lower() or price_from_entry(entry) is None:
                continue
            out[key] = {f: entry[f] for f in KEPT_FIELDS if entry.get(f) is not None}
    return dict(sorted(out.items()))


# ------------------------------------------------------------------ name matching

def _boundary(ch: str) -> bool:
    return not ch.isascii() or not ch.isalnum()


def _suffix_allows(key: str, suffix: str) -> bool:
    """Whether ``key`` may end where ``suffix`` starts: at a separator, and not in the
    middle of a version (``-1`` after ``...-4``), though a ``-YYYYMMDD`` date is fine."""
    if not suffix:
        return True
    if not _boundary(suffix[0]):
        return False
    if not key[-1:].isdigit() or suffix[0] not in "-.":
        return True
    digits = len(suffix[1:]) - len(suffix[1:].lstrip("0123456789"))
    if digits == 0:
        return True
    after = suffix[1 + digits: 2 + digits]
    return digits == _DATE_SUFFIX_DIGITS and (not after or _boundary(after))


def _contains_key(value: str, key: str) -> bool:
    if not key:
        return False
    start = value.find(key)
    while start != -1:
        before_ok = start == 0 or _boundary(value[start - 1])
        if before_ok and _suffix_allows(key, value[start + len(key):]):
            return True
        start = value.find(key, start + 1)
    return False


def normalized(value: str) -> str:
    """``.`` and ``@`` spell the same separator as ``-`` (``claude-haiku-4.5``, ``…@eu``)."""
    return value.replace(".", "-").replace("@", "-")


def names_match(key: str, model: str) -> bool:
    """Fuzzy match of a price-list key and a model name (either may contain the other)."""
    if _contains_key(model, key) or _contains_key(key, model):
        return True
    nk, nm = normalized(key), normalized(model)
    return _contains_key(nm, nk) or _contains_key(nk, nm)


def without_date_suffix(model: str) -> str:
    """``gpt-5.5-2026-04-23`` -> ``gpt-5.5``; ``claude-3-5-haiku-20241022`` -> its base."""
    if len(model) > 11:
        tail = model[-11:]
        if (tail[0] == "-" and tail[1:5].isdigit() and tail[5] == "-" and tail[6:8].isdigit()
                and tail[8] == "-" and tail[9:].isdigit() and tail[1:].isascii()):
            return model[:-11]
    if len(model) > 9 and model[-9] == "-" and model[-8:].isdigit() and model[-8:].isascii():
        return model[:-9]
    return model


class FastMultipliers:
    """ccusage's fast-mode multipliers for entries that do not publish their own."""

    def __init__(self, exact: dict[str, float], prefixes: dict[str, float]) -> None:
        self.exact = exact
        self.prefixes = prefixes

    @classmethod
    def shipped(cls) -> FastMultipliers:
        data = json.loads(FAST_MULTIPLIERS.read_bytes())
        return cls(data.get("exact", {}), data.get("normalized_prefix", {}))

    def multiplier_for(self, model: str) -> float | None:
        if model in self.exact:
            return self.exact[model]
        alias = PRICING_ALIASES.get(model)
        if alias in self.exact:
            return self.exact[alias]
        for part in model.replace(":", "/").split("/"):  # ``azure/gpt-5.4``
            if part in self.exact:
                return self.exact[part]
        for part in normalized(model).replace(":", "/").split("/"):
            for base, value in self.prefixes.items():
                at = part.rfind(base)
                if at >= 0 and (part[at:] == base or part[at + len(base):][:1] == "-"):
                    return value
        return None


class PriceTable:
    """Prices by model name, with lookups cached (a few dozen distinct models per history).

    ``fallback`` is consulted only when this table has no answer (ccusage's models.dev
    snapshot); ``exact_only`` names the keys that only their own spelling may match.
    """

    def __init__(self, prices: dict[str, ModelPrice], source: str = "",
                 fallback: PriceTable | None = None,
                 exact_only: set[str] | frozenset[str] = frozenset(),
                 fast: FastMultipliers | None = None, schedule: Schedule | None = None) -> None:
        self.prices = prices
        self.source = source
        self.fallback = fallback
        self.fast = fast
        self.schedule = schedule
        self.exact_only = set(exact_only)
        spellings: dict[str, str | None] = {}
        for key in self.exact_only:
            norm = normalized(key)
            spellings[norm] = key if spellings.get(norm, key) == key else None
        self._exact_spellings = spellings
        self._fuzzy = [k for k in prices if k not in self.exact_only]
        self._cache: dict[str, tuple[str, ModelPrice] | None] = {}
        self._fingerprint: str | None = None

    def lookup(self, model: str | None) -> tuple[str, ModelPrice] | None:
        """``(matched key, price)`` for ``model``, or ``None`` when no entry fits."""
        if not model:
            return None
        if model in self._cache:
            return self._cache[model]
        found = self._entry_or_alias(model)
        if found is None and self.fallback is not None:
            found = self.fallback._entry_or_alias(model)
        if found is not None and found[1].fast == 1.0 and self.fast is not None:
            # An entry without its own fast multiplier takes ccusage's override for the
            # name asked for (``claude-opus-4-6@eu``, ``azure/gpt-5.4``) or the key found.
            multiplier = self.fast.multiplier_for(model) or self.fast.multiplier_for(found[0])
            if multiplier:
                found = found[0], replace(found[1], fast=multiplier)
        self._cache[model] = found
        return found

    def find(self, model: str | None) -> ModelPrice | None:
        found = self.lookup(model)
        return found[1] if found else None

    def price_at(self, model: str | None, ts_ms: int) -> tuple[str, ModelPrice] | None:
        """The price of a request made at ``ts_ms`` (scheduled prices first)."""
        if self.schedule is not None and model:
            scheduled = self.schedule.price_at(model, ts_ms)
            if scheduled is not None:
                return model, scheduled
        return self.lookup(model)

    def _exact_only_spelling(self, model: str) -> bool:
        tables = [self] + ([self.fallback] if self.fallback is not None else [])
        return any(model in t.exact_only or normalized(model) in t._exact_spellings
                   for t in tables)

    def _entry_or_alias(self, model: str) -> tuple[str, ModelPrice] | None:
        if model in self.prices:
            return model, self.prices[model]
        alias = PRICING_ALIASES.get(model)
        found = self._entry(alias) if alias else None
        return found or self._entry(model)

    def _entry(self, model: str) -> tuple[str, ModelPrice] | None:
        if model in self.prices:
            return model, self.prices[model]
        named = self._exact_spellings.get(normalized(model))
        if named is not None:
            return named, self.prices[named]
        if self._exact_only_spelling(model):
            return None
        candidates = [k for k in self._fuzzy if names_match(k, model)]
        if not candidates:
            return None
        best = min(candidates, key=lambda k: (-len(k), k))  # longest key, then alphabetical
        return best, self.prices[best]

    def fingerprint(self) -> str:
        """Changes whenever any price changes (stored costs are re-priced then)."""
        if self._fingerprint is None:
            blob = json.dumps({k: v.as_dict() for k, v in sorted(self.prices.items())})
            if self.fallback is not None:
                blob += self.fallback.fingerprint()
            if self.schedule is not None:
                blob += repr(sorted(self.schedule.models.items()))
            self._fingerprint = hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()
        return self._fingerprint


class Schedule:
    """Prices that change with the date and hour (DeepSeek V4: a launch price until a
    date, then UTC weekdays' peak hours at a multiple of the off-peak price), for the
    models ccusage schedules, asked for by exactly their names."""

    def __init__(self, data: dict) -> None:
        from blueplane_pipeline.core.times import parse_iso_ms

        self.models: dict[str, tuple[ModelPrice, int, ModelPrice, ModelPrice]] = {}
        for model, entry in data.items():
            before = self._price(entry["before"])
            after = self._price(entry["after"])
            factor = float(entry["peak_factor"])
            peak = ModelPrice(after.input * factor, after.output * factor,
                              after.cache_write * factor, after.cache_read * factor)
            self.models[model] = (before, parse_iso_ms(entry["from"]) or 0, after, peak)
        hours = next(iter(data.values()), {}).get("peak_hours", [])
        self.peak_hours = [(int(a), int(b)) for a, b in hours]

    @staticmethod
    def _price(per_million: list[float]) -> ModelPrice:
        p_in, p_out, p_cr = (v / 1_000_000 for v in per_million)
        return ModelPrice(p_in, p_out, p_in, p_cr)

    def price_at(self, model: str | None, ts_ms: int) -> ModelPrice | None:
        found = self.models.get(model) if model else None
        if found is None:
            return None
        before, switch_ms, after, peak = found
        if ts_ms < switch_ms:
            return before
        from datetime import UTC, datetime

        at = datetime.fromtimestamp(ts_ms / 1000, UTC)
        if at.weekday() < 5 and any(a <= at.hour < b for a, b in self.peak_hours):
            return peak
        return after


# ------------------------------------------------------------------ the models.dev snapshot

def _per_token(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value) / 1_000_000


def _long_context(cost: dict) -> dict | None:
    """The lowest context band of a models.dev ``cost.tiers``, per token."""
    bands = []
    for tier in cost.get("tiers") or ():
        bound = tier.get("tier") if isinstance(tier, dict) else None
        if not isinstance(bound, dict) or bound.get("type") != "context":
            continue
        size = bound.get("size")
        if isinstance(size, int) and size > 0:
            bands.append((size, tier))
    if not bands:
        return None
    size, tier = min(bands, key=lambda b: b[0])
    return {"threshold": size, "input": _per_token(tier.get("input")),
            "output": _per_token(tier.get("output")),
            "cache_write": _per_token(tier.get("cache_write")),
            "cache_read": _per_token(tier.get("cache_read"))}


def models_dev_table(data: dict, asset_priced: set[str]) -> PriceTable:
    """The models.dev snapshot as ccusage reads it: models priced per asset (audio
    seconds, images) left out, free entries left out, and of several spellings of one id
    (case, ``.``/``-``/``@``) the one with the most pricing detail, else the first."""
    prices: dict[str, ModelPrice] = {}
    exact_only: set[str] = set()
    claims: dict[str, tuple[tuple, str]] = {}
    for key in sorted(data):
        model = data[key]
        norm = normalized(key.lower())
        cost = model.get("cost") if isinstance(model, dict) else None
        if norm in asset_priced or not isinstance(cost, dict):
            continue
        p_in, p_out = _per_token(cost.get("input")), _per_token(cost.get("output"))
        if p_in is None or p_out is None or (p_in == 0 and p_out == 0):
            continue
        limit = model.get("limit") if isinstance(model.get("limit"), dict) else {}
        band = _long_context(cost)
        claim = (band is not None, "cache_read" in cost, "cache_write" in cost,
                 limit.get("context") is not None)
        previous = claims.get(norm)
        if previous is not None:
            if previous[0] >= claim:
                continue
            prices.pop(previous[1], None)
            exact_only.discard(previous[1])
        p_cw, p_cr = _per_token(cost.get("cache_write")), _per_token(cost.get("cache_read"))
        prices[key] = ModelPrice(
            input=p_in, output=p_out,
            cache_write=p_in * CACHE_WRITE_FACTOR if p_cw is None else p_cw,
            cache_read=p_in * CACHE_READ_FACTOR if p_cr is None else p_cr,
            input_above=band and band["input"], output_above=band and band["output"],
            cache_write_above=band and band["cache_write"],
            cache_read_above=band and band["cache_read"],
            threshold=band["threshold"] if band else None)
        if model.get("exactOnly") is True:
            exact_only.add(key)
        claims[norm] = (claim, key)
    return PriceTable(prices, source=str(MODELS_DEV_PRICES), exact_only=exact_only)


def _with_builtins(prices: dict[str, ModelPrice], builtins: dict, fast: FastMultipliers,
                   explicit_cache: dict[str, tuple[bool, bool]]) -> None:
    """ccusage's last-resort prices: ``fill`` where the list has no entry, ``replace``
    always, ``glm`` only the cache prices the list did not publish."""
    for model, entry in builtins.items():
        kind = entry.get("kind")
        price = price_from_entry(entry, fast.multiplier_for(model))
        if price is None:
            continue
        if kind == "replace":
            price = ModelPrice(price.input, price.output, price.cache_write, price.cache_read)
            prices[model] = price
        elif kind == "glm" and model in prices:
            have = prices[model]
            cw_explicit, cr_explicit = explicit_cache.get(model, (False, False))
            prices[model] = ModelPrice(
                have.input, have.output,
                have.cache_write if cw_explicit else price.cache_write,
                have.cache_read if cr_explicit else price.cache_read,
                have.input_above, have.output_above, have.cache_write_above,
                have.cache_read_above, have.fast, have.threshold)
        else:
            prices.setdefault(model, price)


def _with_long_context(prices: dict[str, ModelPrice], fallback: PriceTable) -> None:
    """Long-context rates the LiteLLM list lacks (OpenAI's, xAI's), from models.dev's
    entry of the same model (date suffix and alias resolved; never fuzzy)."""
    for model, price in list(prices.items()):
        if price.has_tiers():
            continue
        base = without_date_suffix(model)
        source = fallback.prices.get(PRICING_ALIASES.get(base, base)) or fallback.prices.get(base)
        if source is None or source.threshold is None:
            continue
        prices[model] = ModelPrice(
            price.input, price.output, price.cache_write, price.cache_read,
            source.input_above, source.output_above, source.cache_write_above,
            source.cache_read_above, price.fast, source.threshold)


# ------------------------------------------------------------------ loading and installing

def user_prices_path() -> Path:
    """Where ``blueplane pricing update`` installs a user-supplied list."""
    from blueplane_pipeline.core import config

    return config.home() / "pricing" / "model_prices.json"


def _read_json(path: Path) -> object:
    try:
        return json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise PriceListError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriceListError(f"{path} is not valid JSON: {exc}") from None


def read_price_file(path: Path, fast: FastMultipliers | None = None) -> dict[str, ModelPrice]:
    return parse_price_list(_read_json(path), fast)


_FALLBACK: PriceTable | None = None


def shipped_fallback() -> PriceTable:
    """The models.dev snapshot (read once per process: it does not change)."""
    global _FALLBACK
    if _FALLBACK is None:
        rules = json.loads(MODELS_DEV_RULES.read_bytes())
        _FALLBACK = models_dev_table(json.loads(MODELS_DEV_PRICES.read_bytes()),
                                     set(rules.get("assetPricedModelIds", ())))
    return _FALLBACK


def load_price_table(path: Path | None = None) -> PriceTable:
    """The user's installed list if there is one, else the shipped LiteLLM list; with
    ccusage's built-in prices, long-context rates and models.dev fallback around it."""
    if path is None:
        user = user_prices_path()
        path = user if user.exists() else SHIPPED_PRICES
    fast = FastMultipliers.shipped()
    data = _read_json(path)
    prices = parse_price_list(data, fast)
    explicit = {k: ("cache_creation_input_token_cost" in v, "cache_read_input_token_cost" in v)
                for k, v in data.items() if isinstance(v, dict)}
    fallback = shipped_fallback()
    _with_builtins(prices, json.loads(BUILTIN_PRICES.read_bytes()), fast, explicit)
    _with_long_context(prices, fallback)
    schedule = Schedule(json.loads(SCHEDULED_PRICES.read_bytes()))
    return PriceTable(prices, source=str(path), fallback=fallback, fast=fast,
                      schedule=schedule)


def install_price_list(source: Path) -> tuple[Path, int]:
    """Validate ``source`` and copy it to the user's pricing folder (atomically)."""
    prices = read_price_file(source)
    target = user_prices_path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(Path(source).read_bytes())
    os.replace(tmp, target)
    return target, len(prices)


def remove_user_price_list() -> bool:
    """Go back to the shipped list; ``True`` if a user list was removed."""
    target = user_prices_path()
    if target.exists():
        target.unlink()
        return True
    return False


def describe(price: ModelPrice) -> dict[str, float | None]:
    """Prices per million tokens, as people read them."""
    out: dict[str, float | None] = {}
    for k, v in price.as_dict().items():
        if k in ("fast", "threshold"):
            out[k] = v
        else:
            out[k] = None if v is None else round(v * 1_000_000, 6)
    return out
