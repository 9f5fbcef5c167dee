"""Keeps the ``--help`` blocks of ``docs/cli.md`` equal to the commands' real help.

``python -m blueplane_cli.help_doc`` rewrites every block between
``<!-- [[[help COMMAND]]] -->`` and ``<!-- [[[end]]] -->`` with the current output of
``blueplane COMMAND --help`` (80 columns), and the ``<!-- [[[summaries]]] -->`` block with
a table of the other commands' one-line summaries; ``tests/cli/test_cli_docs.py`` fails when
a block is stale, as Datasette does with cog.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
BLOCK = re.compile(r"(<!-- \[\[\[help (?P<cmd>[^\]]+)\]\]\] -->\n)(?P<body>.*?)"
                   r"(<!-- \[\[\[end\]\]\] -->)", re.S)


def help_text(command: str) -> str:
    """``blueplane COMMAND --help`` as printed in an 80-column terminal."""
    from click.testing import CliRunner

    from blueplane_cli.main import cli

    result = CliRunner().invoke(cli, [*command.split(), "--help"], prog_name="blueplane",
                                terminal_width=80)
    if result.exit_code != 0:
        raise RuntimeError(f"blueplane {command} --help failed: {result.output}")
    return result.output


SUMMARIES = re.compile(r"(<!-- \[\[\[summaries\]\]\] -->\n)(.*?)(<!-- \[\[\[end\]\]\] -->)",
                       re.S)


def summary(name: str) -> str:
    """The first paragraph of a command's help, on one line."""
    import importlib

    from blueplane_cli.main import COMMANDS

    module, attr = COMMANDS[name].split(":")
    command = getattr(importlib.import_module(module), attr)
    return " ".join((command.help or "").split("\n\n")[0].split())


def summary_table(text: str) -> str:
    """A table of the commands that have no ``--help`` block of their own."""
    from blueplane_cli.main import COMMANDS

    own = {m.group("cmd").split()[0] for m in BLOCK.finditer(text)}
    rows = ["| command | what it does |", "|---|---|"]
    pipe = "\\|"
    rows += [f"| `blueplane {name}` | {summary(name).replace('|', pipe)} |"
             for name in COMMANDS if name not in own]
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    text = BLOCK.sub(lambda m: f"{m.group(1)}```\n{help_text(m.group('cmd'))}```\n"
                               f"{m.group(4)}", text)
    return SUMMARIES.sub(lambda m: f"{m.group(1)}{summary_table(text)}{m.group(3)}", text)


def main() -> None:
    text = DOC.read_text()
    new = render(text)
    if new != text:
        DOC.write_text(new)
        print(f"updated {DOC}")
    else:
        print(f"{DOC} is current")


if __name__ == "__main__":
    sys.exit(main())
