"""A recording hook command: appends what it was given to a JSONL file and exits 0.

Usage: ``python -S record_hook.py LOG [LABEL] [ARGS…]``. One line per call:
``{"label", "argv", "cwd", "env", "stdin", "payload"}`` where ``payload`` is the stdin
parsed as JSON (or, when stdin is empty, the last argv item parsed as JSON — how Codex's
legacy ``notify`` program is called), ``stdin`` the raw text, and ``env`` the variables
whose names hint at the calling agent (CODEX_*, GEMINI_*, CLAUDE_*, …). Prints nothing,
so it never changes what the agent does. Stdlib only; safe with ``python -S``.
"""

import json
import os
import sys
import time

HINTS = ("CODEX", "GEMINI", "CLAUDE", "OTEL", "HOOK", "PWD", "HOME", "SHELL", "TERM")


def main() -> int:
    log = sys.argv[1]
    label = sys.argv[2] if len(sys.argv) > 2 else ""
    try:
        raw = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    except OSError:
        raw = ""
    payload = None
    for candidate in (raw, sys.argv[-1] if len(sys.argv) > 3 else ""):
        if candidate.strip():
            try:
                payload = json.loads(candidate)
                break
            except ValueError:
                continue
    env = {k: v for k, v in os.environ.items() if any(h in k.upper() for h in HINTS)}
    line = {"label": label, "received_at": time.time(), "argv": sys.argv[1:],
            "cwd": os.getcwd(), "env": env, "stdin": raw, "payload": payload}
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
