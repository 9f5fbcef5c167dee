"""Opening the database for a report, and the options every report shares.

Every report command reads through :func:`reader`, so "no database yet", "analytics not
built yet" and "database from an older schema" read the same everywhere and never end in
a traceback (the read API's one error adapter, ``read.connect.reading``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import click

from blueplane_cli.output import fail
from blueplane_pipeline.core.platforms import assistant_names


@contextmanager
def reader() -> Iterator[sqlite3.Connection]:
    """A read-only connection to ``telemetry.db``; failures become one ``Error:`` line."""
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read.connect import reading

    with reading(config.db_path(), fail) as conn:
        yield conn


class PlatformChoice(click.Choice):
    """``--platform``: the assistants of the registry (``core.platforms``), read when the
    option is parsed, so an assistant registered at run time is a valid choice."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return assistant_names()

    @choices.setter
    def choices(self, _value: object) -> None:  # click.Choice.__init__ assigns it
        pass


def note(message: str) -> None:
    """A hint for people (stderr, so JSON/CSV on stdout stays clean)."""
    click.echo(message, err=True)


def complete_period(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    from blueplane_pipeline.read import completion

    return completion.periods(incomplete)


def complete_projects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion for ``--project``: project names seen in ``sessions``."""
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read import completion

    return completion.projects(config.db_path(), incomplete)


def complete_sessions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion for a SESSION argument: newest matching session ids."""
    from blueplane_pipeline.core import config
    from blueplane_pipeline.read import completion

    return completion.sessions(config.db_path(), incomplete)


def parse_rate(value: str | None) -> float | None:
    """``0.8``, ``80`` or ``80%`` -> 0.8."""
    if value is None:
        return None
    text = value.strip().rstrip("%")
    try:
        number = float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a rate (use 0.8 or 80%)") from None
    rate = number / 100 if value.strip().endswith("%") or number > 1 else number
    if not 0 <= rate <= 1:
        raise click.BadParameter(f"{value!r} is not between 0 and 100%")
    return rate
