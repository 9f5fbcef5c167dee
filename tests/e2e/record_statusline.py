"""Record what the real Claude Code CLI pipes to a statusLine command (prework for issue 14).

The status line belongs to the interactive UI: ``claude -p`` never runs it. So this runs
the interactive CLI inside a private tmux server (``tmux -L <own socket>``, a pseudo-
terminal of fixed size) against the Messages stand-in, with a temp HOME whose
``~/.claude.json`` marks onboarding, the project's trust dialog and the dummy API key as
done, and whose ``~/.claude/settings.json`` registers statusline_recorder.py. It types the
prompt, waits for the scripted answer, captures the pane (is ``BP-STATUS`` on screen?),
types ``/exit`` and kills its own tmux server.

    python tests/e2e/record_statusline.py                    # the main recording
    python tests/e2e/record_statusline.py --scenario refresh # refreshInterval: 1, idle 5 s
    python tests/e2e/record_statusline.py --scenario slow    # the command sleeps 8 s
    python tests/e2e/record_statusline.py --scenario git     # the project is a git repo
    python tests/e2e/record_statusline.py --out /tmp/sl --otel-dir DIR  # + the OTel export

Writes tests/fixtures/statusline/claude-code-<v>/<scenario>/: NNN.json (stdin of each
invocation), calls.jsonl (timing, TTY, env), screen-*.txt (capture-pane), run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(E2E_DIR))

from messages_standin import Script, text, tool_use  # noqa: E402
from record_claude_otel import (  # noqa: E402
    API_KEY,
    BASE_ENV,
    DEFAULT_CLI_ROOT,
    RecordingStandIn,
    cli_binary,
    cli_version,
    write_settings,
)

REPO = E2E_DIR.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "statusline"
RECORDER = E2E_DIR / "statusline_recorder.py"
PYTHON = REPO / ".venv" / "bin" / "python"
PROMPT = "Print a greeting, write hello.txt, then summarise."
FINAL = "Done: greeted and wrote hello.txt."
COLS, ROWS = 120, 40


def turns(project: Path) -> list[list[dict]]:
    return [
        [tool_use("toolu_sl_bash", "Bash", {"command": "echo hello-from-statusline",
                                            "description": "Print a greeting"})],
        [tool_use("toolu_sl_write", "Write", {"file_path": str(project / "hello.txt"),
                                              "content": "one\ntwo\nthree\n"})],
        [text(FINAL)],
    ]


class Tmux:
    """A private tmux server (its own socket name): nothing else's sessions are touched."""

    def __init__(self, name: str) -> None:
        self.socket = name

    def __call__(self, *args: str, check: bool = True) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=check).stdout

    def capture(self) -> str:
        return self("capture-pane", "-p", "-t", "cc", check=False)

    def kill(self) -> None:
        self("kill-server", check=False)


def wait_for(pred, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def record(binary: Path, scenario: str, out: Path, scratch: Path,
           slow_seconds: float = 8.0, otel_dir: Path | None = None) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"statusline-{scenario}-", dir=scratch))
    project, home, sl_dir = workdir / "project", workdir / "home", workdir / "statusline"
    project.mkdir(parents=True)
    status_line = {"type": "command",
                   "command": f"{PYTHON} -S {RECORDER} {sl_dir}"}
    if scenario == "refresh":
        status_line["refreshInterval"] = 1
    if scenario == "git":  # a local repo with a (never contacted) remote: workspace.repo etc.
        git = ["git", "-C", str(project), "-c", "user.name=probe",
               "-c", "user.email=p@example.invalid"]
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
        (project / "README.md").write_text("probe\n")
        subprocess.run([*git, "add", "README.md"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
        subprocess.run([*git, "remote", "add", "origin",
                        "https://github.com/example-org/statusline-probe.git"], check=True)
    settings: dict = {"statusLine": status_line}
    otlp = None
    if otel_dir is not None:  # also record the interactive session's OTel export
        from otlp_recorder import Recorder
        from record_claude_otel import otel_env
        if otel_dir.exists():
            shutil.rmtree(otel_dir)
        otlp = Recorder(directory=otel_dir).start()
        settings["env"] = otel_env(otlp.url)
    write_settings(home / ".claude" / "settings.json", settings)
    # Onboarding, the trust dialog and the custom API key prompt, answered in advance.
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "lastOnboardingVersion": cli_version(binary).split()[0],
        "theme": "dark", "numStartups": 1,
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        "projects": {str(project): {"hasTrustDialogAccepted": True,
                                    "hasCompletedProjectOnboarding": True,
                                    "allowedTools": []}},
    }, indent=2))
    tmux = Tmux(f"bp-statusline-{os.getpid()}")
    screens: list[tuple[str, str]] = []
    marks: dict[str, float] = {}
    with RecordingStandIn(Script(turns(project)), delay=1.0) as api:
        env = {"HOME": str(home), "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": API_KEY,
               "TERM": "xterm-256color", **BASE_ENV}
        if scenario == "slow":
            env["BLUEPLANE_STATUSLINE_SLEEP"] = str(slow_seconds)
        env_args = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        cmd = (f"cd {shlex.quote(str(project))} && env -i PATH={shlex.quote(os.environ['PATH'])} "
               f"{env_args} {shlex.quote(str(binary))} --allowedTools 'Bash(echo:*)' Write")
        try:
            t0 = time.time()
            marks["start"] = t0
            tmux("new-session", "-d", "-s", "cc", "-x", str(COLS), "-y", str(ROWS), cmd)
            ready = wait_for(lambda: "for shortcuts" in tmux.capture()
                             or "? for" in tmux.capture() or "│ >" in tmux.capture()
                             or "❯" in tmux.capture(), 30)
            marks["ui_ready"] = time.time()
            screens.append(("1-ready", tmux.capture()))
            wait_for(lambda: any(sl_dir.glob("*.json")), 10)
            time.sleep(1.0)
            screens.append(("2-before-prompt", tmux.capture()))
            marks["prompt_sent"] = time.time()
            tmux("send-keys", "-t", "cc", "-l", PROMPT)
            time.sleep(0.3)
            tmux("send-keys", "-t", "cc", "Enter")
            answered = wait_for(lambda: FINAL[:20] in tmux.capture(), 60)
            marks["answer_on_screen"] = time.time()
            idle = 5.0 if scenario == "refresh" else 3.0
            if scenario == "slow":
                idle = slow_seconds + 4.0
            time.sleep(idle)
            screens.append(("3-after-answer", tmux.capture()))
            marks["exit_sent"] = time.time()
            tmux("send-keys", "-t", "cc", "-l", "/exit")
            time.sleep(0.3)
            tmux("send-keys", "-t", "cc", "Enter")
            exited = wait_for(lambda: "cc" not in tmux("ls", check=False), 15)
            marks["exited"] = time.time()
        finally:
            if not locals().get("exited"):
                screens.append(("9-at-kill", tmux.capture()))
            tmux.kill()
        api_calls = list(api.usage_log)
    if otlp is not None:
        time.sleep(1.0)
        otlp.stop()
        (otel_dir / "standin_usage.json").write_text(json.dumps(api_calls, indent=2) + "\n")
    def jsonl(name: str) -> list[dict]:
        path = sl_dir / name
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    calls, starts = jsonl("calls.jsonl"), jsonl("starts.jsonl")
    for p in sorted(sl_dir.glob("[0-9]*.*")):
        shutil.copy(p, out / p.name)
    for name in ("calls.jsonl", "starts.jsonl"):
        if (sl_dir / name).exists():
            shutil.copy(sl_dir / name, out / name)
    for name, screen in screens:
        (out / f"screen-{name}.txt").write_text(screen)
    summary = {
        "scenario": scenario, "cli": cli_version(binary), "terminal": f"tmux {COLS}x{ROWS}",
        "status_line": {**status_line, "command": status_line["command"].replace(
            str(sl_dir), "<out>").replace(str(REPO), "<repo>")},
        "ready": ready, "answered": answered, "exited": bool(locals().get("exited")),
        "marks": {k: round(v - t0, 3) for k, v in marks.items()},
        "invocations_started": len(starts),
        "invocations_finished": len(calls),
        "invocation_starts": [round(c["start"] - t0, 3) for c in starts],
        "finished": [{"n": c["n"], "start": round(c["start"] - t0, 3),
                      "seconds": round(c["end"] - c["start"], 3)} for c in calls],
        "api_calls": [(c["call"], round(c["time"] - t0, 3)) for c in api_calls],
        "line_on_screen": any("BP-STATUS" in s for _, s in screens),
        "hello_txt_written": (project / "hello.txt").exists(),
    }
    (out / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-root", type=Path, default=DEFAULT_CLI_ROOT)
    parser.add_argument("--scenario", action="append",
                        choices=["session", "refresh", "slow", "git"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--slow-seconds", type=float, default=8.0)
    parser.add_argument("--otel-dir", type=Path,
                        help="also export OTel (http/json) from the session into this folder")
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/otel/runs"))
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed")
    binary = cli_binary(args.cli_root)
    root = args.out or FIXTURES / f"claude-code-{cli_version(binary).split()[0]}"
    args.scratch.mkdir(parents=True, exist_ok=True)
    for scenario in args.scenario or ["session"]:
        s = record(binary, scenario, root / scenario, args.scratch, args.slow_seconds,
                   args.otel_dir)
        print(json.dumps(s, indent=2))


if __name__ == "__main__":
    main()
