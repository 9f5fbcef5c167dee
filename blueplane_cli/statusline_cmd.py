"""``blueplane statusline``: the status line Claude Code shows (``capture.statusline``).

`blueplane install claude-code --statusline` registers the faster launcher
(``<python> -S …/capture/run_statusline.py``); this command runs the same code.
"""

from __future__ import annotations

import click


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--no-capture", is_flag=True, help="Print the line; do not record the JSON.")
def statusline(no_capture: bool) -> None:
    """Read Claude Code's statusline JSON on stdin and print one status line: model,
    session and today's cost, the 5-hour block, context, rate limits and budgets."""
    from blueplane_pipeline.capture.statusline import main

    main(["--no-capture"] if no_capture else ["--capture"])
