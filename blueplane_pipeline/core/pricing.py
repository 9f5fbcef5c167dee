"""Model prices: LiteLLM's price-list format, shipped with the package, matched like ccusage.

The shipped list (``data/model_prices.json``) holds the Claude entries of LiteLLM's
``model_prices_and_context_window.json`` so costs work offline. ``blueplane pricing update
FILE`` installs a newer list the user downloaded under ``BLUEPLANE_HOME/pricing/``; when it
exists it is used instead, and the shipped file is never touched.

Lookup order for a model name (what ccusage does, so the same log prices the same):
the exact key; then provider-prefixed spellings (``anthropic/<m>``, Bedrock's
``anthropic.<m>``); then the longest key that contains the name, or is contained in it, at
word boundaries, where ``.`` and ``@`` count as ``-`` and a trailing version number is
never cut through (``claude-opus-4`` does not price ``claude-opus-4-1``, but it does price
``claude-opus-4-20250514``). No match means no price: the caller reports the model as
unknown with cost 0 rather than guessing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

SHIPPED_PRICES = Path(__file__).resolve().parents[1] / "data" / "model_prices.json"
PROVIDER_PREFIXES = ("anthropic/", "anthropic.")
# Prices LiteLLM may leave out default from the input price, as Anthropic bills them.
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1
TIER_THRESHOLD = 200_000
_DATE_SUFFIX_DIGITS = 8


class PriceListError(ValueError):
    """A price list that cannot be used (not JSON, wrong shape, no usable entry)."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per token. ``*_above`` apply to the tokens of a bucket beyond 200k, if set."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    input_above: float | None = None
    output_above: float | None = None
    cache_write_above: float | None = None
    cache_read_above: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {f: getattr(self, f) for f in self.__slots__}


def _number(entry: dict, key: str) -> float | None:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value < 0 or value != value:  # negative or NaN: unusable
        return None
    return float(value)


def price_from_entry(entry: object) -> ModelPrice | None:
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
    )


def parse_price_list(data: object) -> dict[str, ModelPrice]:
    """Validate a decoded LiteLLM price list; raise ``PriceListError`` if it is unusable."""
    if not isinstance(data, dict):
        raise PriceListError("a price list is a JSON object keyed by model name")
    prices = {k: p for k, v in data.items() if isinstance(k, str) and (p := price_from_entry(v))}
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
    """The Claude entries of LiteLLM lists, newest list first: how the shipped file is made.

    Later lists only add models the newer ones dropped (LiteLLM retires old Claude ids,
    but old transcripts still name them), so current prices always win.
    """
    out: dict[str, dict] = {}
    for data in lists:
        for key, entry in data.items():
            if key in out or "claude" not in key.lower() or price_from_entry(entry) is None:
                continue
            out[key] = {f: entry[f] for f in KEPT_FIELDS if entry.get(f) is not None}
    return dict(sorted(out.items()))


def _boundary(ch: str) -> bool:
    return not ch.isalnum()


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
    start = value.find(key)
    while start != -1:
        before_ok = start == 0 or _boundary(value[start - 1])
        if before_ok and _suffix_allows(key, value[start + len(key):]):
            return True
        start = value.find(key, start + 1)
    return False


def _normalized(value: str) -> str:
    return value.replace(".", "-").replace("@", "-")


def names_match(key: str, model: str) -> bool:
    """Fuzzy match of a price-list key and a model name (either may contain the other)."""
    if _contains_key(model, key) or _contains_key(key, model):
        return True
    nk, nm = _normalized(key), _normalized(model)
    return _contains_key(nm, nk) or _contains_key(nk, nm)


class PriceTable:
    """Prices by model name, with lookups cached (a few dozen distinct models per history)."""

    def __init__(self, prices: dict[str, ModelPrice], source: str = "") -> None:
        self.prices = prices
        self.source = source
        self._cache: dict[str, tuple[str, ModelPrice] | None] = {}

    def lookup(self, model: str | None) -> tuple[str, ModelPrice] | None:
        """``(matched key, price)`` for ``model``, or ``None`` when no entry fits."""
        if not model:
            return None
        if model in self._cache:
            return self._cache[model]
        found = self._lookup(model)
        self._cache[model] = found
        return found

    def find(self, model: str | None) -> ModelPrice | None:
        found = self.lookup(model)
        return found[1] if found else None

    def _lookup(self, model: str) -> tuple[str, ModelPrice] | None:
        for name in (model, *(p + model for p in PROVIDER_PREFIXES)):
            if name in self.prices:
                return name, self.prices[name]
        candidates = [k for k in self.prices if names_match(k, model)]
        if not candidates:
            return None
        best = min(candidates, key=lambda k: (-len(k), k))  # longest key, then alphabetical
        return best, self.prices[best]

    def fingerprint(self) -> str:
        """Changes whenever any price changes (stored costs are re-priced then)."""
        blob = json.dumps({k: v.as_dict() for k, v in sorted(self.prices.items())})
        return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def user_prices_path() -> Path:
    """Where ``blueplane pricing update`` installs a user-supplied list."""
    from blueplane_pipeline.core import config

    return config.home() / "pricing" / "model_prices.json"


def read_price_file(path: Path) -> dict[str, ModelPrice]:
    try:
        data = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise PriceListError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriceListError(f"{path} is not valid JSON: {exc}") from None
    return parse_price_list(data)


def load_price_table(path: Path | None = None) -> PriceTable:
    """The user's installed list if there is one, else the shipped list."""
    if path is None:
        user = user_prices_path()
        path = user if user.exists() else SHIPPED_PRICES
    return PriceTable(read_price_file(path), source=str(path))


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
    return {k: (None if v is None else round(v * 1_000_000, 6)) for k, v in price.as_dict().items()}
