"""The price list: loading, validation, model-name matching, installing a user list."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.core.pricing import (
    SHIPPED_PRICES,
    ModelPrice,
    PriceListError,
    PriceTable,
    claude_subset,
    install_price_list,
    load_price_table,
    names_match,
    parse_price_list,
    price_from_entry,
)


def entry(p_in: float, p_out: float, **extra: float) -> dict:
    return {"input_cost_per_token": p_in, "output_cost_per_token": p_out, **extra}


def test_shipped_list_prices_claude_openai_and_models_dev_models():
    table = load_price_table(SHIPPED_PRICES)
    sonnet = table.find("claude-sonnet-4-5-20250929")
    assert (sonnet.input, sonnet.output, sonnet.cache_write, sonnet.cache_read) == (
        3e-06, 1.5e-05, 3.75e-06, 3e-07)
    # not in ccusage's list under its own name: the longest key containing it, as ccusage
    assert table.lookup("claude-3-5-sonnet-20241022")[0] == (
        "eu.anthropic.claude-3-5-sonnet-20241022-v2:0")
    assert table.find("claude-sonnet-4-20250514").input_above == 6e-06
    gpt = table.find("gpt-5.5")
    assert (gpt.input, gpt.cache_read, gpt.output, gpt.fast) == (5e-06, 5e-07, 3e-05, 2.5)
    assert gpt.threshold == 272_000  # OpenAI's long-context band, from models.dev
    # models.dev fills what LiteLLM lacks; a separately priced tier needs its own name
    assert table.lookup("grok-build-0.1")[0] == "grok-build-0.1"
    assert table.find("claude-opus-5-fast").input > table.find("claude-opus-5").input
    assert table.find("claude-opus-5.fast").input == table.find("claude-opus-5-fast").input
    assert table.find("totally-unknown-model") is None


def test_missing_cache_prices_default_from_the_input_price():
    price = price_from_entry(entry(2e-06, 1e-05))
    assert price.cache_write == pytest.approx(2.5e-06)
    assert price.cache_read == pytest.approx(2e-07)
    explicit = price_from_entry(entry(2e-06, 1e-05, cache_creation_input_token_cost=9e-06,
                                      cache_read_input_token_cost=1e-08))
    assert (explicit.cache_write, explicit.cache_read) == (9e-06, 1e-08)


@pytest.mark.parametrize("data, message", [
    ([], "JSON object"),
    ({"x": {"input_cost_per_token": "cheap"}}, "no entry"),
    ({"sample_spec": {"max_tokens": "set to max"}}, "no entry"),
])
def test_unusable_lists_are_refused(data, message):
    with pytest.raises(PriceListError, match=message):
        parse_price_list(data)


def test_entries_with_bad_numbers_are_skipped_not_fatal():
    prices = parse_price_list({"good": entry(1e-06, 2e-06), "neg": entry(-1.0, 2e-06),
                               "bool": entry(True, 2e-06)})
    assert list(prices) == ["good"]


def test_lookup_exact_then_provider_prefix_then_longest_fuzzy():
    p = ModelPrice(1, 1, 1, 1)
    q = ModelPrice(2, 2, 2, 2)
    table = PriceTable({"anthropic/claude-x-9": p, "claude-opus-4": p, "claude-opus-4-1": q,
                        "eu.anthropic.claude-opus-4-1-v1:0": p, "claude-opus-4-1-20250805": q})
    assert table.lookup("claude-x-9")[0] == "anthropic/claude-x-9"  # a provider prefix
    assert table.lookup("claude-opus-4-1-20250805")[0] == "claude-opus-4-1-20250805"
    # a date suffix may follow a key; a version number may not
    assert table.lookup("claude-opus-4-20250514")[0] == "claude-opus-4"
    assert table.lookup("claude-opus-4-1")[0] == "claude-opus-4-1"
    # the longest matching key wins among fuzzy candidates
    assert table.lookup("eu.anthropic.claude-opus-4-1-v1:0-custom")[0] == (
        "eu.anthropic.claude-opus-4-1-v1:0")
    assert table.lookup("claude-unknown-7") is None
    assert table.lookup(None) is None


@pytest.mark.parametrize("key, model, expected", [
    ("claude-opus-4", "claude-opus-4-20250514", True),
    ("claude-opus-4", "claude-opus-4-1", False),
    ("claude-opus-4", "claude-opus-40", False),
    ("vertex_ai/claude-sonnet-4@20250514", "claude-sonnet-4-20250514", True),
    ("claude-haiku-4.5", "claude-haiku-4-5", True),
    ("opus", "claude-opus-4", True),
    ("claude-3-5-sonnet", "claude-3-5-sonnet-v2", True),
])
def test_name_matching_respects_word_and_version_boundaries(key, model, expected):
    assert names_match(key, model) is expected


def test_claude_subset_keeps_newest_prices_and_adds_retired_models():
    new = {"claude-a": entry(1e-06, 2e-06, mode="chat"), "gpt-x": entry(1e-06, 1e-06)}
    old = {"claude-a": entry(9e-06, 9e-06), "claude-retired": entry(3e-06, 4e-06),
           "claude-free": {"input_cost_per_token": None}}
    out = claude_subset(new, old)
    assert out == {"claude-a": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
                   "claude-retired": {"input_cost_per_token": 3e-06,
                                      "output_cost_per_token": 4e-06}}


def test_install_validates_and_never_touches_the_shipped_list(bp_home, tmp_path):
    shipped_before = SHIPPED_PRICES.read_bytes()
    good = tmp_path / "prices.json"
    good.write_text(json.dumps({"claude-new-9": entry(1e-05, 5e-05)}))
    target, count = install_price_list(good)
    assert count == 1 and target.is_relative_to(bp_home)
    assert load_price_table().find("claude-new-9").input == 1e-05
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PriceListError, match="not valid JSON"):
        install_price_list(bad)
    assert load_price_table().find("claude-new-9") is not None  # still the good one
    assert SHIPPED_PRICES.read_bytes() == shipped_before


def test_fingerprint_follows_prices():
    a = PriceTable({"m": ModelPrice(1, 2, 3, 4)})
    b = PriceTable({"m": ModelPrice(1, 2, 3, 5)})
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == PriceTable({"m": ModelPrice(1, 2, 3, 4)}).fingerprint()


def test_cli_update_show_reset(bp_home, tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = runner.invoke(cli, ["pricing", "update", str(bad)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    missing = runner.invoke(cli, ["pricing", "update", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1 and "cannot read" in missing.output

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"claude-zeta-1": entry(2e-06, 8e-06)}))
    assert runner.invoke(cli, ["pricing", "update", str(good)]).exit_code == 0
    shown = runner.invoke(cli, ["pricing", "show", "claude-zeta-1", "--json"])
    data = json.loads(shown.output)
    assert data["matched"] == "claude-zeta-1" and data["prices"]["input"] == 2e-06

    assert "Using the shipped" in runner.invoke(cli, ["pricing", "reset"]).output
    unknown = runner.invoke(cli, ["pricing", "show", "claude-zeta-1"])
    assert unknown.exit_code == 1 and "no price" in unknown.output
    listing = runner.invoke(cli, ["pricing", "show"])
    assert listing.exit_code == 0 and "claude-opus-4-5" in listing.output
