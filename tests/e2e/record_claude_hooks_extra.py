"""HTTP hook payloads the main scripted session does not produce: a subagent and /compact.

Prework for issue 11, next to record_claude_otel.py (same stand-in, same temp-HOME user
settings with an HTTP hook for every event):

- ``subagent``: the model calls the Agent tool (foreground, general-purpose); the subagent
  runs one Bash and answers. Expect SubagentStart/SubagentStop and hooks with ``agent_id``.
- ``compact``: after a short session, ``claude -p --resume <id> /compact``. Expect
  PreCompact/PostCompact (and SessionStart with source=compact, which HTTP cannot carry).

    python tests/e2e/record_claude_hooks_extra.py   # into tests/fixtures/http_hooks/…/<name>/
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from messages_standin import Script, text, tool_use  # noqa: E402
from otlp_recorder import Recorder  # noqa: E402
from record_claude_otel import (  # noqa: E402
    API_KEY,
    BASE_ENV,
    DEFAULT_CLI_ROOT,
    HOOK_FIXTURES,
    RecordingStandIn,
    cli_binary,
    cli_version,
    http_hooks,
    save_hook_fixtures,
    write_settings,
)

MARK = "SUBAGENT-PROBE"


def _first_user_text(body: dict) -> str:
    for m in body.get("messages", []):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            return " ".join(b.get("text", "") for b in c if isinstance(b, dict))
    return ""


class SubagentScript(Script):
    """Main loop: Agent tool, then text. The subagent (its first user message carries MARK):
    one Bash, then text."""

    def __init__(self) -> None:
        super().__init__([
            [tool_use("toolu_agent_1", "Agent", {
                "description": "Probe subagent", "subagent_type": "general-purpose",
                "prompt": f"{MARK}: run echo from-subagent and report.",
                "run_in_background": False})],
            [text("The subagent reported back.")],
        ])
        self.sub_turns = [
            [tool_use("toolu_sub_bash", "Bash", {"command": "echo from-subagent",
                                                 "description": "Echo in the subagent"})],
            [text("from-subagent printed.")],
        ]

    def answer(self, body: dict) -> list[dict]:
        if body.get("tools") and MARK in _first_user_text(body):
            done = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
            return self.sub_turns[done] if done < len(self.sub_turns) else [text("Done.")]
        return super().answer(body)


def _claude(binary: Path, project: Path, home: Path, api_url: str, args: list[str]) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "ANTHROPIC_BASE_URL": api_url, "ANTHROPIC_API_KEY": API_KEY, **BASE_ENV}
    t = time.perf_counter()
    proc = subprocess.run([str(binary), *args, "--output-format", "json"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        out = {"unparsed_stdout": proc.stdout[-1000:]}
    return {"returncode": proc.returncode, "seconds": round(time.perf_counter() - t, 3),
            "result": out.get("result"), "session_id": out.get("session_id"),
            "stderr": proc.stderr[-1000:]}


def record(binary: Path, name: str, out_root: Path, scratch: Path) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=scratch))
    project, home = workdir / "project", workdir / "home"
    project.mkdir(parents=True)
    runs = []
    with Recorder() as hooks:
        write_settings(home / ".claude" / "settings.json",
                       {"hooks": http_hooks(f"{hooks.url}/hook/claude-code")})
        if name == "subagent":
            with RecordingStandIn(SubagentScript()) as api:
                runs.append(_claude(binary, project, home, api.url,
                                    ["-p", "Delegate the echo to a subagent.",
                                     "--allowedTools", "Bash(echo:*)", "Agent"]))
        else:
            with RecordingStandIn(Script([[text("First answer.")]])) as api:
                first = _claude(binary, project, home, api.url, ["-p", "Say something."])
                runs.append(first)
            with RecordingStandIn(Script([[text("Summary of the conversation.")]] * 5)) as api:
                runs.append(_claude(binary, project, home, api.url,
                                    ["-p", "/compact", "--resume", first["session_id"]]))
        time.sleep(0.5)
    index = save_hook_fixtures(hooks, out_root / name)
    summary = {"scenario": name, "cli": cli_version(binary), "runs": runs,
               "events": [i["event"] for i in index]}
    (out_root / name / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-root", type=Path, default=DEFAULT_CLI_ROOT)
    parser.add_argument("--only", action="append", choices=["subagent", "compact"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/otel/runs"))
    args = parser.parse_args()
    binary = cli_binary(args.cli_root)
    out_root = args.out or HOOK_FIXTURES / f"claude-code-{cli_version(binary).split()[0]}"
    args.scratch.mkdir(parents=True, exist_ok=True)
    for name in args.only or ["subagent", "compact"]:
        s = record(binary, name, out_root, args.scratch)
        print(name, [(r["returncode"], r["seconds"], r["result"]) for r in s["runs"]],
              s["events"])


if __name__ == "__main__":
    main()
