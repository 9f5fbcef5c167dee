"""Sync or async Claude Code hooks? Measured on the real CLI (tests/e2e harness).

Runs the scripted offline session (3 Bash tools: success, failure, refusal; 10 hook events)
several times per configuration and prints the session wall time and how many of the
fired events reached the Redis stream, right when the CLI exited and 3 s later:

- no hooks                     the CLI alone
- blueplane sync               what ``blueplane install claude-code`` registers
- blueplane async              the same with ``"async": true``
- blueplane async, 0.3 s slow  async with a hook that takes 0.3 s (a loaded machine)
- blueplane sync, 0.3 s slow   sync with that slow hook

    python benchmarks/bench_claude_hooks.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from _machine import print_info  # noqa: E402
from harness import ensure_cli, pinned_version, run_session  # noqa: E402

from blueplane_pipeline.capture.installers import add_grouped_hooks, hook_command  # noqa: E402
from blueplane_pipeline.sources.claude_code.hooks import INSTALLER as CLAUDE  # noqa: E402

EXPECTED_EVENTS = 10  # SessionStart, UserPromptSubmit, 3x PreToolUse, PostToolUse,
# PostToolUseFailure, PermissionRequest, Stop, SessionEnd (what the reference hooks log)


def configs() -> dict[str, tuple[str | None, bool]]:
    command = hook_command("claude-code")
    slow = f"sleep 0.3; {command}"
    return {
        "no hooks": (None, False),
        "blueplane sync": (command, False),
        "blueplane async": (command, True),
        "blueplane sync, 0.3 s slow": (slow, False),
        "blueplane async, 0.3 s slow": (slow, True),
    }


def write_settings(project: Path, command: str | None, run_async: bool) -> None:
    (project / ".claude").mkdir(parents=True, exist_ok=True)
    settings = {} if command is None else add_grouped_hooks({}, CLAUDE, command, run_async)
    (project / ".claude" / "settings.json").write_text(json.dumps(settings, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    binary = ensure_cli()
    home = Path(tempfile.mkdtemp(prefix="bp-cc-", dir="/tmp"))
    os.environ["BLUEPLANE_HOME"] = str(home)
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    from blueplane_pipeline.ingest import stream
    from blueplane_pipeline.runtime import redis_server

    redis_server.start()
    r = stream.client()
    print_info(r)
    print(f"claude code {pinned_version()} (native binary {binary.name}); "
          f"runs per configuration: {args.runs}; expected hook events per session: "
          f"{EXPECTED_EVENTS}")
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for _ in range(args.runs):
            for name, (command, run_async) in configs().items():
                work = Path(tempfile.mkdtemp(prefix="cc-", dir="/tmp"))
                write_settings(work / "project", command, run_async)
                before = r.xlen("blueplane:events")
                run = run_session(binary, work / "project", work / "home", home)
                at_exit = r.xlen("blueplane:events") - before
                time.sleep(3)
                later = r.xlen("blueplane:events") - before
                assert run.returncode == 0, run.stderr
                row = results.setdefault(name, {"seconds": [], "at_exit": [], "later": []})
                row["seconds"].append(run.seconds)
                row["at_exit"].append(at_exit)
                row["later"].append(later)
                shutil.rmtree(work, ignore_errors=True)
    finally:
        r.close()
        redis_server.stop()
        shutil.rmtree(home, ignore_errors=True)

    base = statistics.median(results["no hooks"]["seconds"])
    print(f"\n{'configuration':30} {'median s':>9} {'+ vs none':>10} "
          f"{'events at exit (min-max)':>25} {'after 3 s (min-max)':>20}")
    for name, row in results.items():
        med = statistics.median(row["seconds"])
        at_exit = f"{min(row['at_exit']):.0f}-{max(row['at_exit']):.0f}"
        later = f"{min(row['later']):.0f}-{max(row['later']):.0f}"
        print(f"{name:30} {med:9.2f} {med - base:+10.2f} {at_exit:>25} {later:>20}")


if __name__ == "__main__":
    main()
