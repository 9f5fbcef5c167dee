"""Run the real Gemini CLI (pinned in this folder's ``package.json``) on a scripted, offline
two-turn session (``gemini -p`` then ``gemini --resume latest -p``), with a recording
command hook on every hook event and telemetry sent to a local OTLP recorder (or, in the
``outfile`` scenario, to a local file).

Import it from a test (nothing runs at import time)::

    spec = importlib.util.spec_from_file_location("gemini_e2e_harness", GEMINI / "harness.py")
    harness = importlib.util.module_from_spec(spec)
    sys.modules["gemini_e2e_harness"] = harness       # needed before exec (dataclasses)
    spec.loader.exec_module(harness)
    run = harness.run_session(harness.ensure_cli(), tmp_path)

(load it by path under a unique name: tests/e2e/harness.py is also importable as
``harness``)

or run it once by hand: ``python tests/e2e/gemini/harness.py [OUT_DIR] [main|outfile|all]``.

``@google/gemini-cli`` is a plain JavaScript bundle (``bundle/gemini.js``, run with
``node``); its optional native add-ons (node-pty, keytar) need install scripts that npm
11 does not run by default, and the CLI works without them (shell commands then run
through ``child_process``).

Nothing leaves the machine: the model API is ``gemini_standin.GeminiStandIn`` on
127.0.0.1 (``GOOGLE_GEMINI_BASE_URL``), OTLP goes to ``otlp_recorder.OtlpRecorder`` (loaded from
``tests/e2e/codex`` by path) on 127.0.0.1, ``HTTPS_PROXY``/``HTTP_PROXY`` point at a second
recorder that refuses and records anything else, and auto-update, usage statistics and
the update nag are off in settings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CODEX_DIR = HERE.parent / "codex"


def _load(folder: Path, name: str, prefix: str):
    """A sibling module loaded by path under a unique name. tests/e2e, tests/e2e/codex and
    tests/e2e/gemini each have a ``harness.py`` (and tests/e2e an ``otlp_recorder.py``), so
    plain ``import`` by name could pick the wrong one; nothing is added to sys.path."""
    key = f"blueplane_e2e_{prefix}_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_standin = _load(HERE, "gemini_standin", "gemini")
MODEL = _standin.MODEL
GeminiStandIn = _standin.GeminiStandIn
Scripted = _standin.Scripted
Usage = _standin.Usage
function_call = _standin.function_call
shell = _standin.shell
text = _standin.text
thought = _standin.thought
OtlpRecorder = _load(CODEX_DIR, "otlp_recorder", "codex").OtlpRecorder

PACKAGE = "@google/gemini-cli"
RECORD_HOOK = CODEX_DIR / "record_hook.py"

# Every hook event Gemini CLI 0.61.0 knows (its HookEventName enum).
HOOK_EVENTS = ("SessionStart", "SessionEnd", "BeforeAgent", "AfterAgent", "BeforeModel",
               "AfterModel", "BeforeToolSelection", "BeforeTool", "AfterTool", "PreCompress",
               "Notification")

FAIL_CMD = "ls does-not-exist-gemini-e2e"
OK_CMD = "echo hello-from-gemini-e2e"
RESUME_CMD = "cat notes.txt"
NOTES = "one\ntwo\nthree\n"

TURN1_PROMPT = "Run the two shell commands, write the notes file, then summarise."
TURN2_PROMPT = "Show the notes file, then stop."


def main_script(project: Path) -> list[Scripted]:
    """One entry per agent-loop model response, in order. Usage values all differ;
    prompt includes cached, candidates exclude thoughts."""
    notes = str(project / "notes.txt")
    return [
        Scripted([thought("List the folder first."),
                  shell(FAIL_CMD, "List a missing folder")],
                 Usage(5200, 0, 40, 120), "turn1: shell fails (exit 2)"),
        Scripted([shell(OK_CMD, "Print a greeting")],
                 Usage(5600, 4096, 30, 64), "turn1: shell succeeds"),
        Scripted([function_call("write_file", {"file_path": notes, "content": NOTES})],
                 Usage(6000, 5120, 80, 0), "turn1: write_file creates notes.txt"),
        Scripted([text("One command failed (exit 2), one printed a greeting; notes.txt "
                       "has three lines.")],
                 Usage(6400, 5632, 50, 0), "turn1: final text"),
        Scripted([shell(RESUME_CMD, "Show the notes")],
                 Usage(7000, 6144, 20, 16), "turn2 (resume): shell succeeds"),
        Scripted([text("notes.txt holds three lines.")],
                 Usage(7300, 6656, 25, 0), "turn2 (resume): final text"),
    ]


class CliUnavailable(RuntimeError):
    """The CLI cannot be installed or run here; the message says why."""


def installed_entry(root: Path = HERE) -> Path | None:
    entry = root / "node_modules" / PACKAGE / "bundle" / "gemini.js"
    return entry if entry.is_file() else None


def ensure_cli(root: Path = HERE) -> list[str]:
    """The command that runs the pinned CLI (``[node, …/gemini.js]``), running ``npm ci``
    first if it is not installed yet."""
    node = shutil.which("node")
    if node is None:
        raise CliUnavailable("node is not on PATH: install Node.js (>= 20) to run this test")
    entry = installed_entry(root)
    if entry is None:
        npm = shutil.which("npm")
        if npm is None:
            raise CliUnavailable("npm is not on PATH: install Node.js (>= 20) to run this test")
        proc = subprocess.run([npm, "ci", "--prefix", str(root), "--no-audit", "--no-fund"],
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise CliUnavailable(f"npm ci failed: {proc.stderr.strip()[-600:]}")
        entry = installed_entry(root)
        if entry is None:
            raise CliUnavailable("npm ci did not install bundle/gemini.js")
    command = [node, str(entry)]
    with tempfile.TemporaryDirectory(prefix="gemini-version-") as home:  # it writes ~/.gemini
        proc = subprocess.run([*command, "--version"], capture_output=True, text=True,
                              timeout=120, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                "HOME": home, "GEMINI_CLI_HOME": home,
                                                "NO_COLOR": "1"})
    if proc.returncode != 0:
        raise CliUnavailable(f"gemini --version failed: {proc.stderr.strip()[-300:]}")
    return command


def pinned_version(root: Path = HERE) -> str:
    return json.loads((root / "package.json").read_text())["dependencies"][PACKAGE]


def write_settings(gemini_dir: Path, hook_log: Path, telemetry: dict | None) -> Path:
    """``~/.gemini/settings.json``: API-key auth, no auto-update / usage statistics, a
    recording command hook on every event, and ``telemetry`` as given."""
    gemini_dir.mkdir(parents=True, exist_ok=True)

    def command(label: str) -> str:
        return " ".join(shlex.quote(p) for p in (sys.executable, "-S", str(RECORD_HOOK),
                                                 str(hook_log), label))

    settings: dict = {
        "security": {"auth": {"selectedType": "gemini-api-key"},
                     "folderTrust": {"enabled": False}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "hooksConfig": {"enabled": True, "notifications": False},
        "hooks": {event: [{"matcher": "*", "hooks": [{
            "name": f"record-{event}", "type": "command", "command": command(event),
            "timeout": 10000}]}] for event in HOOK_EVENTS},
    }
    if telemetry is not None:
        settings["telemetry"] = telemetry
    path = gemini_dir / "settings.json"
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Step:
    argv: list[str]
    returncode: int
    seconds: float
    stdout: str
    stderr: str


@dataclass
class GeminiRun:
    scenario: str
    root: Path
    home: Path
    gemini_dir: Path
    project: Path
    hook_log: Path
    telemetry_outfile: Path | None
    steps: list[Step]
    sessions: list[Path]
    requests: list[dict] = field(repr=False)
    usage: list[dict] = field(repr=False)
    side_usage: list[dict] = field(repr=False)
    otlp: list[dict] = field(repr=False)
    egress: list[dict] = field(repr=False)

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.steps)

    def hooks(self) -> list[dict]:
        return read_jsonl(self.hook_log)

    def outputs(self) -> dict[str, object]:
        return {"scenario": self.scenario, "home": str(self.home),
                "gemini_dir": str(self.gemini_dir), "project": str(self.project),
                "sessions": [str(p) for p in self.sessions],
                "hook_log": str(self.hook_log),
                "telemetry_outfile": str(self.telemetry_outfile) if self.telemetry_outfile
                else None,
                "steps": [{"argv": s.argv[2:], "returncode": s.returncode,
                           "seconds": round(s.seconds, 2)} for s in self.steps],
                "responses_served": len(self.usage), "side_requests": len(self.side_usage),
                "otlp_requests": len(self.otlp), "egress_attempts": len(self.egress)}


def _env(home: Path, api_url: str, proxy_url: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GEMINI_CLI_HOME": str(home),
        "GOOGLE_GEMINI_BASE_URL": api_url,
        "GEMINI_API_KEY": "e2e-dummy-key",
        "GEMINI_CLI_NO_RELAUNCH": "true",
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    if proxy_url:
        for key in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
            env[key] = proxy_url
    for key in ("BLUEPLANE_HOME", "BLUEPLANE_REDIS_URL", "BLUEPLANE_PRIVACY_MODE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


FLAGS = ["-m", MODEL, "--yolo", "--output-format", "json", "--skip-trust"]


def run_session(cli: list[str], root: Path, scenario: str = "main",
                timeout: float = 180, configure=None) -> GeminiRun:
    """Turn 1 ``gemini -p`` + turn 2 ``gemini --resume latest -p`` with HOME (and
    GEMINI_CLI_HOME) = ``root/home`` and the project in ``root/project``.

    ``scenario`` picks the telemetry: ``main`` sends OTLP/HTTP to the recorder
    (``otlpEndpoint`` + ``otlpProtocol: "http"``, ``target: "local"``); ``outfile`` writes
    telemetry to ``root/telemetry.jsonl`` instead (``target: "local"`` + ``outfile``; the
    CLI ignores the OTLP endpoint when an outfile is set); ``none`` turns it off."""
    root = Path(root)
    home, project = root / "home", root / "project"
    gemini_dir = home / ".gemini"
    for folder in (home, project):
        folder.mkdir(parents=True, exist_ok=True)
    hook_log = root / "hooks.jsonl"
    outfile = root / "telemetry.jsonl" if scenario == "outfile" else None
    steps: list[Step] = []
    with GeminiStandIn(main_script(project)) as api, OtlpRecorder() as otlp, \
            OtlpRecorder() as trap:
        telemetry: dict | None
        if scenario == "main":
            telemetry = {"enabled": True, "target": "local", "otlpEndpoint": otlp.url,
                         "otlpProtocol": "http", "logPrompts": True}
        elif scenario == "outfile":
            telemetry = {"enabled": True, "target": "local", "outfile": str(outfile),
                         "logPrompts": True}
        else:
            telemetry = {"enabled": False}
        write_settings(gemini_dir, hook_log, telemetry)
        if configure is not None:  # e.g. `blueplane install gemini` beside the recorders
            configure(home)
        env = _env(home, api.url, trap.url)
        for argv in ([*cli, "-p", TURN1_PROMPT, *FLAGS],
                     [*cli, "--resume", "latest", "-p", TURN2_PROMPT, *FLAGS]):
            t = time.perf_counter()
            proc = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
            steps.append(Step(argv, proc.returncode, time.perf_counter() - t, proc.stdout,
                              proc.stderr))
            if proc.returncode != 0:
                break
        time.sleep(0.5)  # late OTLP flushes
        requests = list(api.requests)
        usage, side = api.usage_log(), [u for u in api.usage_log(False) if u["script_index"] < 0]
        otlp_requests, egress = list(otlp.requests), list(trap.requests)
    return GeminiRun(
        scenario=scenario, root=root, home=home, gemini_dir=gemini_dir, project=project,
        hook_log=hook_log, telemetry_outfile=outfile, steps=steps,
        sessions=sorted((gemini_dir / "tmp").glob("*/chats/session-*")),
        requests=requests, usage=usage, side_usage=side, otlp=otlp_requests, egress=egress)


def save_run(run: GeminiRun, out: Path) -> None:
    """Everything the run produced besides ``home`` itself, as files in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "standin_usage.json").write_text(json.dumps(run.usage, indent=1) + "\n")
    (out / "standin_side_requests.json").write_text(json.dumps(run.side_usage, indent=1) + "\n")
    (out / "standin_requests.json").write_text(json.dumps(run.requests, indent=1) + "\n")
    (out / "otlp.json").write_text(json.dumps(run.otlp, indent=1) + "\n")
    (out / "egress.json").write_text(json.dumps(run.egress, indent=1) + "\n")
    for n, step in enumerate(run.steps, 1):
        (out / f"step{n}.stdout.json").write_text(step.stdout)
        (out / f"step{n}.stderr.txt").write_text(step.stderr)
    (out / "outputs.json").write_text(json.dumps(run.outputs(), indent=1) + "\n")


def main(argv: list[str]) -> int:
    import tempfile
    root = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="gemini-e2e-"))
    which = argv[2] if len(argv) > 2 else "main"
    names = ["main", "outfile"] if which == "all" else [which]
    t = time.perf_counter()
    cli = ensure_cli()
    print(f"gemini: {' '.join(cli)} (install/check {time.perf_counter() - t:.1f}s)")
    ok = True
    for name in names:
        run = run_session(cli, root / name if len(names) > 1 else root, name)
        save_run(run, run.root / "recorded")
        print(json.dumps(run.outputs(), indent=1))
        for step in run.steps:
            if step.returncode != 0:
                print(step.stderr[-3000:], file=sys.stderr)
        print(f"recorded: {run.root / 'recorded'}")
        ok = ok and run.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
