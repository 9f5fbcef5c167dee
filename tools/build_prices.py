"""Build the shipped price data from the list ccusage 20.0.24 embeds for ``--offline``.

ccusage's native binary carries three raw-deflate snapshots (LiteLLM's prices in a compact
form, models.dev's prices, and models.dev's catalogue rules) and, as plain text, its
fast-mode multipliers. This script finds the binary in the npm cache (``npx
ccusage@20.0.24`` puts it under ``~/.npm/_npx/*/node_modules/@ccusage/ccusage-<os>-<arch>``),
inflates every deflate stream that decodes to a JSON object, tells the three apart by
shape, and writes them to ``blueplane_pipeline/data/`` in LiteLLM's field names, with the
few last-resort prices ccusage keeps in code (``BUILTIN``). Provenance: ``data/PRICES.md``.

    python tools/build_prices.py [--binary PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import re
import sys
import zlib
from pathlib import Path

VERSION = "20.0.24"
OUT = Path(__file__).resolve().parents[1] / "blueplane_pipeline" / "data"
COMPACT_FIELDS = {
    "i": "input_cost_per_token",
    "o": "output_cost_per_token",
    "cc": "cache_creation_input_token_cost",
    "cr": "cache_read_input_token_cost",
    "ia": "input_cost_per_token_above_200k_tokens",
    "oa": "output_cost_per_token_above_200k_tokens",
    "cca": "cache_creation_input_token_cost_above_200k_tokens",
    "cra": "cache_read_input_token_cost_above_200k_tokens",
    "ctx": "max_input_tokens",
}
# Prices ccusage 20.0.24 keeps in its code for models the snapshots may miss (USD per
# million: input, output, cache write, cache read[, input/output/write/read above 200k]).
# ``fill``: used only when the snapshot lacks the key; ``replace``: always (ccusage inserts
# these over the snapshot); ``glm``: only the cache prices the snapshot did not publish.
BUILTIN: list[tuple[str, str, tuple[float, ...]]] = [
    ("fill", "claude-opus-4-5", (5, 25, 6.25, 0.5)),
    ("fill", "claude-opus-4-6", (5, 25, 6.25, 0.5)),
    ("fill", "claude-opus-4-7", (5, 25, 6.25, 0.5)),
    ("fill", "claude-opus-4-8", (5, 25, 6.25, 0.5)),
    ("fill", "claude-haiku-4-5", (1, 5, 1.25, 0.1)),
    ("fill", "claude-opus-4", (15, 75, 18.75, 1.5)),
    ("fill", "claude-sonnet-4-6", (3, 15, 3.75, 0.3)),
    ("fill", "claude-sonnet-4", (3, 15, 3.75, 0.3, 6, 22.5, 7.5, 0.6)),
    ("fill", "claude-3-5-haiku", (0.8, 4, 1.0, 0.08)),
    ("fill", "claude-3-5-haiku-20241022", (0.8, 4, 1.0, 0.08)),
    ("fill", "claude-3-opus", (15, 75, 18.75, 1.5)),
    ("fill", "claude-3-sonnet", (3, 15, 3.75, 0.3)),
    ("fill", "claude-3-haiku", (0.25, 1.25, 0.3, 0.03)),
    ("fill", "gpt-5", (1.25, 10, 1.25, 0.125)),
    ("fill", "gpt-5.5", (5, 30, 5, 0.5)),
    ("fill", "grok-4.3", (1.25, 2.5, 1.25, 0.125)),
    ("fill", "moonshot/kimi-k2.5", (0.6, 3, 0.75, 0.1)),
    ("fill", "moonshot/kimi-k2.6", (0.95, 4, 1.1875, 0.16)),
    ("fill", "gpt-5.1", (1.25, 10, 1.25, 0.125)),
    ("replace", "gpt-5.1-codex", (1.25, 10, 1.25, 0.125)),
    ("replace", "gpt-5.2-codex", (1.75, 14, 1.75, 0.175)),
    ("fill", "gpt-5.3-codex", (1.75, 14, 1.75, 0.175)),
    ("replace", "gpt-5.2", (1.75, 14, 1.75, 0.175)),
    ("fill", "gpt-5.4", (2.5, 15, 2.5, 0.25)),
    ("fill", "gpt-5.4-mini", (0.75, 4.5, 0.75, 0.075)),
    ("fill", "gpt-5.4-nano", (0.2, 1.25, 0.2, 0.02)),
    ("fill", "gpt-5.6-sol", (5, 30, 6.25, 0.5)),
    ("fill", "gpt-5.6-terra", (2.5, 15, 3.125, 0.25)),
    ("fill", "gpt-5.6-luna", (1, 6, 1.25, 0.1)),
    ("glm", "glm-4.5", (0.6, 2.2, 0, 0.11)),
    ("glm", "zai/glm-4.5", (0.6, 2.2, 0, 0.11)),
    ("glm", "zai/glm-4.5-x", (2.2, 8.9, 0, 0.45)),
    ("glm", "zai/glm-4.5-air", (0.2, 1.1, 0, 0.03)),
    ("glm", "zai/glm-4.5-airx", (1.1, 4.5, 0, 0.22)),
    ("glm", "zai/glm-4.5v", (0.6, 1.8, 0, 0.11)),
    ("glm", "zai/glm-4-32b-0414-128k", (0.1, 0.1, 0, 0)),
    ("glm", "zai/glm-4.5-flash", (0, 0, 0, 0)),
    ("glm", "glm-4.6", (0.6, 2.2, 0, 0.11)),
    ("glm", "glm-4.7", (0.6, 2.2, 0, 0.11)),
    ("fill", "glm-5", (1.0, 3.2, 0, 0.2)),
    ("fill", "glm-5-turbo", (1.2, 4.0, 0, 0.24)),
    ("fill", "glm-5.1", (1.4, 4.4, 0, 0.26)),
    *[("glm", m, (1.4, 4.4, 0, 0.28)) for m in ("glm-5.2", "GLM-5.2", "zai/glm-5.2")],
    *[("glm", m, (1.4, 4.4, 0, 0.26)) for m in ("glm-5.3", "GLM-5.3", "zai/glm-5.3")],
]
# Models ccusage 20.0.24 prices by date and hour in code, requested by exactly these names.
# Measured by running the binary over one-bucket messages at chosen instants (PRICES.md):
# USD per million (input, output, cache read; a cache write costs the input price);
# from ``from`` on, UTC weekdays' ``peak_hours`` [start, end) cost ``peak_factor`` times.
SCHEDULED = {
    "deepseek-v4-flash": {
        "before": (0.14, 0.28, 0.0028),
        "from": "2026-08-16T16:00:00Z",
        "after": (0.22, 0.66, 0.007),
    },
    "deepseek-v4-pro": {
        "before": (0.435, 0.87, 0.003625),
        "from": "2026-08-16T16:00:00Z",
        "after": (0.66, 1.98, 0.022),
    },
}
PEAK = {"peak_hours": [[1, 4], [6, 10]], "peak_factor": 2.0}
_PRICE_FIELDS = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_creation_input_token_cost",
    "cache_read_input_token_cost",
    "input_cost_per_token_above_200k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "cache_creation_input_token_cost_above_200k_tokens",
    "cache_read_input_token_cost_above_200k_tokens",
)


def find_binary() -> Path:
    pattern = str(Path.home() / ".npm/_npx/*/node_modules/@ccusage/ccusage-*/bin/ccusage")
    for candidate in sorted(glob.glob(pattern)):
        package = Path(candidate).parents[1] / "package.json"
        if json.loads(package.read_text()).get("version") == VERSION:
            return Path(candidate)
    sys.exit(
        f"no ccusage {VERSION} binary under ~/.npm/_npx (run: npx ccusage@{VERSION} --version)"
    )


def deflated_json(data: bytes) -> list[object]:
    """Every raw-deflate stream in ``data`` that inflates to a JSON object or array."""
    found, i, n = [], 0, len(data)
    while i < n - 16:
        try:
            head = zlib.decompressobj(-15).decompress(data[i : i + 256], 32)
        except zlib.error:
            i += 1
            continue
        if head[:2] in (b'{"', b"[{") and head.isascii():
            d = zlib.decompressobj(-15)
            try:
                full = d.decompress(data[i:])
                value = json.loads(full) if d.eof else None
            except (zlib.error, ValueError):
                value = None
            if value is not None:
                found.append(value)
                i = n - len(d.unused_data)
                continue
        i += 1
    return found


def fast_overrides(data: bytes) -> dict:
    """The plain-text ``fast-multiplier-overrides.json`` ccusage includes."""
    match = re.search(
        rb'\{\s*"exact":\s*\{[^{}]*\},\s*"normalized_prefix":\s*\{[^{}]*\}\s*\}', data
    )
    if match is None:
        sys.exit("fast-multiplier overrides not found in the binary")
    return json.loads(match.group(0))


def expand(compact: dict) -> dict[str, dict]:
    out = {}
    for model, entry in sorted(compact.items()):
        full = {COMPACT_FIELDS[k]: v for k, v in entry.items() if k in COMPACT_FIELDS}
        if "fast" in entry:
            full["provider_specific_entry"] = {"fast": entry["fast"]}
        out[model] = full
    return out


def builtin_entries() -> dict[str, dict]:
    out = {}
    for kind, model, per_million in BUILTIN:
        prices = {f: round(v / 1e6, 15) for f, v in zip(_PRICE_FIELDS, per_million, strict=False)}
        out[model] = {"kind": kind, **prices}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    binary = args.binary or find_binary()
    data = binary.read_bytes()
    litellm = models_dev = rules = None
    for value in deflated_json(data):
        if isinstance(value, dict) and "owners" in value and "assetPricedModelIds" in value:
            rules = value
        elif isinstance(value, dict) and all(
            isinstance(v, dict) and "cost" in v for v in value.values()
        ):
            models_dev = value
        elif isinstance(value, dict) and all(
            isinstance(v, dict) and "i" in v for v in value.values()
        ):
            litellm = value
    if litellm is None or models_dev is None or rules is None:
        sys.exit("the binary does not hold the three snapshots this script knows")
    files = {
        "model_prices.json": expand(litellm),
        "models_dev_prices.json": dict(sorted(models_dev.items())),
        "models_dev_rules.json": {"assetPricedModelIds": sorted(rules["assetPricedModelIds"])},
        "fast_multipliers.json": fast_overrides(data),
        "builtin_prices.json": builtin_entries(),
        "scheduled_prices.json": {m: {**v, **PEAK} for m, v in SCHEDULED.items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        (args.out / name).write_text(json.dumps(value, indent=1) + "\n")
    digest = hashlib.sha256(data).hexdigest()
    print(f"ccusage {VERSION} binary {binary} sha256 {digest}")
    print(
        f"LiteLLM entries {len(litellm)}, models.dev entries {len(models_dev)}, "
        f"builtin {len(BUILTIN)} -> {args.out}"
    )


if __name__ == "__main__":
    main()
