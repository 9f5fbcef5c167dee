"""``blueplane pricing show|update|reset``: the model price list costs are computed with."""

from __future__ import annotations

from pathlib import Path

import click

from blueplane_cli.output import emit_json, fail


@click.group(name="pricing")
def pricing() -> None:
    """Model prices (LiteLLM's price-list format; shipped with Blueplane, works offline)."""


@pricing.command()
@click.argument("model", required=False)
@click.option("--all", "show_all", is_flag=True,
              help="List provider aliases too (Bedrock, Vertex, ...), not only Anthropic ids.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (USD per token).")
def show(model: str | None, show_all: bool, as_json: bool) -> None:
    """Show the price list in use, or how MODEL is priced (USD per million tokens)."""
    from blueplane_pipeline.core.pricing import PriceListError, describe, load_price_table

    try:
        table = load_price_table()
    except PriceListError as exc:
        fail(f"{exc} (run `blueplane pricing reset` to go back to the shipped list)")
    if model:
        found = table.lookup(model)
        if found is None:
            if as_json:
                emit_json({"model": model, "matched": None, "source": table.source})
                return
            fail(f"no price for {model!r}: its usage is reported with cost 0 "
                 "(load a newer list with `blueplane pricing update FILE`)")
        key, price = found
        if as_json:
            emit_json({"model": model, "matched": key, "source": table.source,
                       "prices": price.as_dict()})
            return
        how = "exact" if key == model else f"matched entry {key!r}"
        where = table.source if key in table.prices else "the shipped models.dev snapshot"
        click.echo(f"{model}: {how} in {where}")
        for name, value in describe(price).items():
            if value is None or name in ("fast", "threshold"):
                continue
            click.echo(f"  {name:<18} ${value:g} / M tokens")
        if price.threshold is not None:
            click.echo(f"  (*_above: the whole request once its prompt passes "
                       f"{price.threshold:,} tokens)")
        elif price.input_above is not None:
            click.echo("  (*_above: each bucket's tokens beyond 200,000)")
        if price.fast != 1.0:
            click.echo(f"  fast mode          x{price.fast:g}")
        return
    names = sorted(k for k in table.prices if show_all or k.startswith("claude-"))
    if as_json:
        emit_json({"source": table.source, "models": len(table.prices),
                   "prices": {k: table.prices[k].as_dict() for k in names}})
        return
    from blueplane_cli.output import table as print_table

    rows = []
    for name in names:
        d = describe(table.prices[name])
        rows.append([name, d["input"], d["output"], d["cache_write"], d["cache_read"],
                     "yes" if d["input_above"] is not None else ""])
    print_table(f"Prices, USD per million tokens ({table.source})",
                ["Model", "Input", "Output", "Cache write", "Cache read", ">200k tier"], rows)
    if not show_all:
        click.echo(f"{len(table.prices) - len(names)} provider aliases not shown (--all).")


@pricing.command()
@click.argument("file", type=click.Path(path_type=Path))
def update(file: Path) -> None:
    """Use FILE (a newer LiteLLM model_prices_and_context_window.json) from now on.

    The file is checked first; the shipped list stays untouched (`pricing reset` goes
    back to it). Costs already computed are re-priced on the next pipeline run.
    """
    from blueplane_pipeline.core.pricing import PriceListError, install_price_list

    try:
        target, count = install_price_list(file)
    except PriceListError as exc:
        fail(str(exc))
    click.echo(f"Installed {count} model prices from {file} -> {target}")


@pricing.command()
def reset() -> None:
    """Go back to the price list shipped with Blueplane."""
    from blueplane_pipeline.core.pricing import remove_user_price_list

    removed = remove_user_price_list()
    click.echo("Using the shipped price list again." if removed else
               "Already using the shipped price list.")
