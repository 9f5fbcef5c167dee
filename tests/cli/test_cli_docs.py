"""docs/cli.md documents every command: its summary line, and for the reports the exact
``--help`` output (regenerate with ``python -m blueplane_cli.help_doc``)."""

from __future__ import annotations

import importlib

import pytest

from blueplane_cli import help_doc
from blueplane_cli.main import COMMANDS

REPORTS = ("metrics", "sessions", "analyze", "tools", "insights", "watch", "export", "purge",
           "config")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _command(name: str):
    module, attr = COMMANDS[name].split(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_documented_with_its_summary(name):
    doc = _flat(help_doc.DOC.read_text())
    summary = _flat((_command(name).help or "").split("\n\n")[0])
    assert summary, f"{name} has no help text"
    assert f"blueplane {name}" in doc
    assert summary in doc, f"docs/cli.md lacks the summary of `blueplane {name}`: {summary}"


def test_help_blocks_are_current():
    text = help_doc.DOC.read_text()
    blocks = set(help_doc.BLOCK.findall(text))
    assert {b[1] for b in blocks} >= set(REPORTS)
    assert help_doc.render(text) == text, "run: python -m blueplane_cli.help_doc"
