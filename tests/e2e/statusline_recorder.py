"""A statusLine command that records what Claude Code pipes to it and prints one line.

Register it in settings.json (prework for issue 14, ``blueplane statusline``):

    "statusLine": {"type": "command",
                   "command": "<python> -S /abs/tests/e2e/statusline_recorder.py /abs/out/dir"}

Each invocation appends ``{"n", "start"}`` to ``starts.jsonl`` at once, writes ``NNN.json``
(stdin exactly as received, pretty-printed when it is JSON, else ``NNN.raw``) and appends
one line to ``calls.jsonl``: start/end time, pid, ppid, cwd, argv, whether stdin/stdout
are TTYs, and the environment variables that look relevant (COLUMNS, LINES, TERM,
CLAUDE*, …; values of *TOKEN*/*KEY*/… become "<set>"). It prints
``BP-STATUS #<n> <model> $<cost>`` so a screen capture can show whether the line reached
the screen. Standard library only;
``BLUEPLANE_STATUSLINE_SLEEP`` (seconds) makes it slow, to find the CLI's timeout.
"""

from __future__ import annotations

import json
import os
import sys
import time


def _next_index(out: str) -> int:
    """A unique, increasing number: O_EXCL on NNN.lock files (invocations may overlap)."""
    n = 1
    while True:
        try:
            fd = os.open(os.path.join(out, f".{n:03d}.lock"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
            return n
        except FileExistsError:
            n += 1


def main() -> None:
    start = time.time()
    out = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BLUEPLANE_STATUSLINE_DIR", ".")
    os.makedirs(out, exist_ok=True)
    raw = sys.stdin.buffer.read()
    n = _next_index(out)
    with open(os.path.join(out, "starts.jsonl"), "a") as fh:  # before any sleep
        fh.write(json.dumps({"n": n, "start": start, "stdin_bytes": len(raw)}) + "\n")
    try:
        doc = json.loads(raw)
        with open(os.path.join(out, f"{n:03d}.json"), "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    except ValueError:
        doc = None
        with open(os.path.join(out, f"{n:03d}.raw"), "wb") as fh:
            fh.write(raw)
    delay = float(os.environ.get("BLUEPLANE_STATUSLINE_SLEEP") or 0)
    if delay:
        time.sleep(delay)
    env = {k: v for k, v in os.environ.items()
           if k in ("COLUMNS", "LINES", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "PWD",
                    "SHLVL", "TMUX")
           or k.startswith(("CLAUDE", "ANTHROPIC_MODEL", "OTEL", "BLUEPLANE"))}
    for k in env:  # never keep a secret in a recording: only that it was set
        if any(w in k for w in ("TOKEN", "KEY", "SECRET", "PASSWORD", "AUTH")):
            env[k] = "<set>"
    meta = {"n": n, "start": start, "end": time.time(), "pid": os.getpid(),
            "ppid": os.getppid(), "cwd": os.getcwd(), "argv": sys.argv,
            "stdin_bytes": len(raw), "stdin_isatty": sys.stdin.isatty(),
            "stdout_isatty": sys.stdout.isatty(), "env": env}
    with open(os.path.join(out, "calls.jsonl"), "a") as fh:
        fh.write(json.dumps(meta) + "\n")
    model, cost = "?", "?"
    if isinstance(doc, dict):
        m = doc.get("model")
        model = (m.get("display_name") or m.get("id")) if isinstance(m, dict) else str(m)
        c = doc.get("cost")
        cost = c.get("total_cost_usd") if isinstance(c, dict) else "?"
    print(f"BP-STATUS #{n} {model} ${cost}")


if __name__ == "__main__":
    main()
