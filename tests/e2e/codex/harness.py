"""Run the real Codex CLI (pinned in this folder's ``package.json``) on a scripted, offline
two-turn session, with every hook event, the legacy ``notify`` program and OpenTelemetry
all recording to local files.

Import it from a test (nothing runs at import time)::

    spec = importlib.util.spec_from_file_location("codex_e2e_harness", CODEX / "harness.py")
    harness = importlib.util.module_from_spec(spec)
    sys.modules["codex_e2e_harness"] = harness        # needed before exec (dataclasses)
    spec.loader.exec_module(harness)
    run = harness.run_session(harness.ensure_cli(), tmp_path)

(load it by path under a unique name: tests/e2e/harness.py, the Claude Code one, is also
importable as ``harness``)

or run it once by hand: ``python tests/e2e/codex/harness.py [OUT_DIR] [main|extras|all]``
(default ``main``: the two-turn scenario of issue 12).

The CLI is installed from ``package-lock.json`` with ``npm ci`` when ``node_modules`` is
missing. ``@openai/codex`` is a small node launcher; the native binary lives in the
platform package (``@openai/codex-linux-x64`` is an npm alias of
``@openai/codex@0.171.0-linux-x64``) under ``vendor/<target triple>/bin/codex``. No
postinstall is involved; the harness runs that binary directly.

Nothing leaves the machine: the model API is ``responses_standin.ResponsesStandIn`` on
127.0.0.1; OTLP goes to ``otlp_recorder.OtlpRecorder`` on 127.0.0.1; ``HTTPS_PROXY`` /
``HTTP_PROXY`` point at a second recorder that refuses and records any attempt to reach
another host (``run.egress``), and the features that call github.com / chatgpt.com are
switched off in ``config.toml``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(name: str):
    """A sibling module loaded by path under a unique name. tests/e2e, tests/e2e/codex and
    tests/e2e/gemini each have a ``harness.py`` and tests/e2e has its own
    ``otlp_recorder.py``, so plain ``import`` by name could pick the wrong one; nothing is
    added to sys.path."""
    key = f"blueplane_e2e_codex_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


OtlpRecorder = _load("otlp_recorder").OtlpRecorder
_standin = _load("responses_standin")
MODEL = _standin.MODEL
ResponsesStandIn = _standin.ResponsesStandIn
Scripted = _standin.Scripted
Usage = _standin.Usage
apply_patch = _standin.apply_patch
message = _standin.message
poll = _standin.poll
reasoning = _standin.reasoning
shell = _standin.shell

PACKAGE = "@openai/codex"
API_KEY_ENV = "BLUEPLANE_E2E_CODEX_KEY"

# Every hook event Codex 0.171.0 knows (the ``hook_event_name`` consts of the input
# schemas embedded in the binary).
HOOK_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest",
               "PostToolUse", "PreCompact", "PostCompact", "SubagentStart", "SubagentStop",
               "Stop", "Interrupt", "SessionEnd")

# The project the session works in (not a git repository).
PROJECT_FILES = {
    "README.txt": "Blueplane e2e project\nold line\nkeep me\n",
    "obsolete.txt": "delete me\n",
}

PATCH = (
    "*** Begin Patch\n"
    "*** Add File: notes.txt\n"
    "+first note\n"
    "+second note\n"
    "+third note\n"
    "*** Update File: README.txt\n"
    "@@\n"
    " Blueplane e2e project\n"
    "-old line\n"
    "+new line one\n"
    "+new line two\n"
    " keep me\n"
    "*** Delete File: obsolete.txt\n"
    "*** End Patch"
)
# Lines this patch adds / removes, counted from the patch text ("+" / "-" body lines of
# Add/Update sections; a Delete File section carries no lines).
PATCH_ADDED, PATCH_REMOVED = 5, 1

BAD_PATCH = (
    "*** Begin Patch\n"
    "*** Update File: README.txt\n"
    "@@\n"
    "-this line is not in the file\n"
    "+so the patch cannot apply\n"
    "*** End Patch"
)

OK_CMD = "echo hello-from-codex-e2e"
FAIL_CMD = "ls does-not-exist-codex-e2e"
RESUME_CMD = "cat notes.txt"

TURN1_PROMPT = ("Run the two shell commands, apply the patch, try the second patch, "
                "then summarise.")
TURN2_PROMPT = "Show the notes file, then stop."

# One entry per model response, in the order Codex asks for them. Usage values are all
# different so a mix-up shows; input includes cached, output includes reasoning.
TURN1 = [
    Scripted([reasoning("Start with the greeting."), shell("call_e2e_ok", OK_CMD)],
             Usage(2400, 0, 120, 64), "turn1: exec_command succeeds"),
    Scripted([shell("call_e2e_fail", FAIL_CMD)],
             Usage(2650, 2304, 90, 32), "turn1: exec_command fails (exit 2)"),
    Scripted([apply_patch("call_e2e_patch", PATCH)],
             Usage(2900, 2560, 210, 48), "turn1: apply_patch add+update+delete"),
    Scripted([apply_patch("call_e2e_badpatch", BAD_PATCH)],
             Usage(3150, 2816, 70, 16), "turn1: apply_patch that does not apply"),
    Scripted([message("Both commands ran (one failed with exit 2); the patch added "
                      "notes.txt, edited README.txt and deleted obsolete.txt; the second "
                      "patch did not apply.")],
             Usage(3400, 3072, 60, 0), "turn1: final text"),
]
TURN2 = [
    Scripted([shell("call_e2e_resume", RESUME_CMD)],
             Usage(3700, 3328, 40, 8), "turn2 (resume): exec_command succeeds"),
    Scripted([message("notes.txt holds three notes.")],
             Usage(3900, 3584, 30, 0), "turn2 (resume): final text"),
]
SCRIPT = TURN1 + TURN2


class CliUnavailable(RuntimeError):
    """The CLI cannot be installed or run here; the message says why."""


def _target_triple() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64",
            "arm64": "aarch64"}.get(machine, machine)
    if sys.platform.startswith("linux"):
        return f"{arch}-unknown-linux-musl"
    if sys.platform == "darwin":
        return f"{arch}-apple-darwin"
    if sys.platform == "win32":
        return f"{arch}-pc-windows-msvc"
    raise CliUnavailable(f"no Codex binary is published for {sys.platform}/{machine}")


def _platform_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(
        "linux" if sys.platform.startswith("linux") else sys.platform, sys.platform)
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    return f"{PACKAGE}-{system}-{arch}"


def installed_binary(root: Path = HERE) -> Path | None:
    triple = _target_triple()
    name = "codex.exe" if sys.platform == "win32" else "codex"
    for base in (root / "node_modules" / _platform_package(),
                 root / "node_modules" / PACKAGE):
        native = base / "vendor" / triple / "bin" / name
        if native.is_file():
            return native
    return None


def ensure_cli(root: Path = HERE) -> Path:
    """The pinned native Codex binary, running ``npm ci`` first if it is not installed."""
    binary = installed_binary(root)
    if binary is None:
        npm = shutil.which("npm")
        if npm is None:
            raise CliUnavailable("npm is not on PATH: install Node.js (>= 20) to run this test")
        proc = subprocess.run([npm, "ci", "--prefix", str(root), "--no-audit", "--no-fund"],
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise CliUnavailable(f"npm ci failed: {proc.stderr.strip()[-600:]}")
        binary = installed_binary(root)
        if binary is None:
            raise CliUnavailable(f"npm ci installed no native binary ({_platform_package()})")
    proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise CliUnavailable(f"{binary} --version failed: {proc.stderr.strip()[-300:]}")
    return binary


def pinned_version(root: Path = HERE) -> str:
    return json.loads((root / "package.json").read_text())["dependencies"][PACKAGE]


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_config(codex_home: Path, api_base_url: str, otlp_url: str | None,
                 hook_log: Path, notify_log: Path, model: str = MODEL,
                 extra_top_level: tuple[str, ...] = ()) -> dict[str, Path]:
    """``config.toml`` (provider → stand-in, networked features off, OTLP → recorder) and
    ``hooks.json`` (a recording command for every hook event) in ``codex_home``."""
    codex_home.mkdir(parents=True, exist_ok=True)
    recorder = HERE / "record_hook.py"
    python = sys.executable

    def command(label: str) -> str:
        return " ".join(shlex.quote(p) for p in (python, "-S", str(recorder),
                                                 str(hook_log), label))

    notify = [python, "-S", str(recorder), str(notify_log), "notify"]
    lines = [
        f"model = {_toml_str(model)}",
        'model_provider = "standin"',
        "check_for_update_on_startup = false",
        f"notify = [{', '.join(_toml_str(p) for p in notify)}]",
        *extra_top_level,
        "",
        "[model_providers.standin]",
        'name = "Responses API stand-in"',
        f"base_url = {_toml_str(api_base_url)}",
        f"env_key = {_toml_str(API_KEY_ENV)}",
        'wire_api = "responses"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "supports_websockets = false",
        "",
        "[features]",
        "plugins = false",
        "apps = false",
        "remote_plugin = false",
        "api_key_model_discovery = false",
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[feedback]",
        "enabled = false",
    ]
    if otlp_url:
        def exporter(signal: str) -> str:
            return ("{ otlp-http = { endpoint = " + _toml_str(f"{otlp_url}/v1/{signal}")
                    + ', protocol = "json", headers = { "x-blueplane-e2e" = "codex" } } }')
        lines += ["", "[otel]", 'environment = "e2e"',
                  f"exporter = {exporter('logs')}",
                  f"trace_exporter = {exporter('traces')}",
                  f"metrics_exporter = {exporter('metrics')}"]
    config = codex_home / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    # SessionEnd / Interrupt timeouts are clamped to 3 s by Codex (it warns otherwise).
    hooks = {"hooks": {event: [{"hooks": [{
        "type": "command", "command": command(event),
        "timeout": 3 if event in ("SessionEnd", "Interrupt") else 10}]}]
        for event in HOOK_EVENTS}}
    hooks_json = codex_home / "hooks.json"
    hooks_json.write_text(json.dumps(hooks, indent=2) + "\n")
    return {"config": config, "hooks": hooks_json}


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
class CodexRun:
    root: Path
    codex_home: Path
    project: Path
    hook_log: Path
    notify_log: Path
    steps: list[Step]
    scenario: str
    rollouts: list[Path]
    archived: list[Path]
    requests: list[dict] = field(repr=False)
    usage: list[dict] = field(repr=False)
    otlp: list[dict] = field(repr=False)
    egress: list[dict] = field(repr=False)

    @property
    def ok(self) -> bool:
        """Every process exited 0 (an interrupted turn is expected to exit non-zero)."""
        return all(s.returncode == 0 or (self.scenario == "extras" and "--last" in s.argv)
                   for s in self.steps)

    def hooks(self) -> list[dict]:
        return read_jsonl(self.hook_log)

    def notifications(self) -> list[dict]:
        return read_jsonl(self.notify_log)

    def outputs(self) -> dict[str, object]:
        return {"scenario": self.scenario, "codex_home": str(self.codex_home),
                "project": str(self.project),
                "rollouts": [str(p) for p in self.rollouts],
                "archived": [str(p) for p in self.archived],
                "hook_log": str(self.hook_log), "notify_log": str(self.notify_log),
                "steps": [{"argv": s.argv[1:], "returncode": s.returncode,
                           "seconds": round(s.seconds, 2)} for s in self.steps],
                "responses_served": len(self.usage), "otlp_requests": len(self.otlp),
                "egress_attempts": len(self.egress)}


def _env(codex_home: Path, home: Path, proxy_url: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        API_KEY_ENV: "sk-e2e-dummy-key",
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    if proxy_url:
        for key in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                    "all_proxy"):
            env[key] = proxy_url
    for key in ("BLUEPLANE_HOME", "BLUEPLANE_REDIS_URL", "BLUEPLANE_PRIVACY_MODE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


# (``exec resume`` does not take ``--color``.)
FLAGS = ["--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
         "--dangerously-bypass-hook-trust", "--json"]


@dataclass(frozen=True)
class Turn:
    """One CLI process of a scenario: ``codex exec`` (first) or ``codex exec resume
    --last`` (every later one), or with ``fork=True`` ``codex exec fork <thread id of the
    first turn>``. With ``interrupt_on`` set, the harness sends SIGINT once that hook
    event has been recorded ``interrupt_count`` times (plus ``interrupt_delay`` seconds),
    the way Ctrl-C would."""
    prompt: str
    fork: bool = False
    interrupt_on: str | None = None
    interrupt_count: int = 1
    interrupt_delay: float = 1.0


@dataclass(frozen=True)
class Scenario:
    name: str
    turns: tuple[Turn, ...]
    script: tuple[Scripted, ...]
    untooled: tuple[Scripted, ...] | None = None   # answers to compaction requests
    extra_config: tuple[str, ...] = ()


# The main scenario (issue 12): a shell command that succeeds, one that fails, an
# apply_patch that adds/updates/deletes, one that does not apply, then ``exec resume``.
MAIN = Scenario("main", (Turn(TURN1_PROMPT), Turn(TURN2_PROMPT)), tuple(SCRIPT))

# The edge cases an importer meets in real histories, in a second CODEX_HOME:
# a command still running when its first output is yielded (the exit code only arrives
# in a later ``write_stdin`` poll), a command Codex refuses (no exit code at all), an
# auto-compaction (``model_auto_compact_token_limit`` is low and one response reports a
# large input), then a resumed turn the user interrupts (SIGINT) during a command, then
# ``codex exec fork`` of the thread (a new rollout file that copies the history).
SLOW_CMD = "sleep 1; echo slow-done; exit 3"
REFUSED_CMD = "rm -f /tmp/blueplane-e2e-nonexistent"
INTERRUPTED_CMD = "sleep 30; echo never-printed"
EXTRAS = Scenario(
    "extras",
    (Turn("Run the slow command, then the cleanup, then stop."),
     Turn("Run the long command.", interrupt_on="PreToolUse"),
     Turn("Forked: say hello.", fork=True)),
    (
        Scripted([shell("call_x_slow", SLOW_CMD, yield_time_ms=250)],
                 Usage(2000, 0, 50, 10), "extras turn1: exec_command yields while running"),
        Scripted(poll("call_x_poll"),
                 Usage(2200, 1920, 30, 0), "extras turn1: write_stdin poll gets exit 3"),
        Scripted([shell("call_x_refused", REFUSED_CMD)],
                 Usage(9000, 2048, 40, 8), "extras turn1: refused command; large input "
                                           "triggers auto-compaction"),
        Scripted([message("Slow command exited 3; the cleanup was refused.")],
                 Usage(1500, 0, 25, 0), "extras turn1: final text (after compaction)"),
        Scripted([shell("call_x_interrupted", INTERRUPTED_CMD, yield_time_ms=30000)],
                 Usage(1700, 1280, 20, 0), "extras turn2 (resume): command interrupted"),
        Scripted([message("Hello from the fork.")],
                 Usage(2500, 1536, 15, 0), "extras turn3 (fork): final text"),
    ),
    untooled=(Scripted([message("SUMMARY: ran a slow command (exit 3); cleanup refused.")],
                       Usage(9100, 0, 60, 0), "extras turn1: compaction summary"),),
    extra_config=("model_auto_compact_token_limit = 5000",),
)


def _run_turn(argv: list[str], turn: Turn, cwd: Path, env: dict[str, str], hook_log: Path,
              timeout: float) -> Step:
    t = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    if turn.interrupt_on:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            seen = [h for h in read_jsonl(hook_log) if h["label"] == turn.interrupt_on]
            if len(seen) >= turn.interrupt_count:
                time.sleep(turn.interrupt_delay)
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return Step(argv, proc.returncode, time.perf_counter() - t, out, err)


def run_session(binary: Path, root: Path, scenario: Scenario = MAIN, otel: bool = True,
                timeout: float = 180, configure=None) -> CodexRun:
    """Run ``scenario`` (default: the two-turn MAIN one) in a fresh ``root/codex_home``
    (HOME is ``root/home``, the project ``root/project``). The first turn is
    ``codex exec``, every later one ``codex exec resume --last``. ``configure(codex_home)``
    runs once the config and the recording hooks are written, before the first process
    (e.g. ``blueplane install codex``, which adds its hooks beside the recording ones)."""
    root = Path(root)
    codex_home, home, project = root / "codex_home", root / "home", root / "project"
    for folder in (home, project):
        folder.mkdir(parents=True, exist_ok=True)
    for name, content in PROJECT_FILES.items():
        (project / name).write_text(content)
    hook_log, notify_log = root / "hooks.jsonl", root / "notify.jsonl"
    steps: list[Step] = []
    untooled = list(scenario.untooled) if scenario.untooled is not None else None
    with ResponsesStandIn(list(scenario.script), untooled) as api, OtlpRecorder() as otlp, \
            OtlpRecorder() as trap:
        write_config(codex_home, api.base_url, otlp.url if otel else None, hook_log,
                     notify_log, extra_top_level=scenario.extra_config)
        if configure is not None:
            configure(codex_home)
        env = _env(codex_home, home, trap.url)
        thread_id = ""
        for n, turn in enumerate(scenario.turns):
            if n == 0:
                argv = [str(binary), "exec", *FLAGS, "--color", "never", turn.prompt]
            elif turn.fork:
                argv = [str(binary), "exec", "fork", *FLAGS, thread_id, turn.prompt]
            else:
                argv = [str(binary), "exec", "resume", "--last", *FLAGS, turn.prompt]
            step = _run_turn(argv, turn, project, env, hook_log, timeout)
            steps.append(step)
            if n == 0:
                started = [h for h in read_jsonl(hook_log) if h["label"] == "SessionStart"]
                first = (started[0]["payload"] or {}) if started else {}
                thread_id = first.get("session_id", "")
            if step.returncode != 0 and not turn.interrupt_on:
                break
        time.sleep(0.3)  # late OTLP flushes from the exiting process
        requests, usage = list(api.requests), api.usage_log()
        otlp_requests, egress = list(otlp.requests), list(trap.requests)
    return CodexRun(
        root=root, codex_home=codex_home, project=project, hook_log=hook_log,
        notify_log=notify_log, steps=steps, scenario=scenario.name,
        rollouts=sorted((codex_home / "sessions").rglob("rollout-*.jsonl")),
        archived=sorted((codex_home / "archived_sessions").rglob("rollout-*.jsonl")),
        requests=requests, usage=usage, otlp=otlp_requests, egress=egress)


def save_run(run: CodexRun, out: Path) -> None:
    """Everything the run produced besides ``codex_home`` itself, as files in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "standin_usage.json").write_text(json.dumps(run.usage, indent=1) + "\n")
    (out / "standin_requests.json").write_text(json.dumps(run.requests, indent=1) + "\n")
    (out / "otlp.json").write_text(json.dumps(run.otlp, indent=1) + "\n")
    (out / "egress.json").write_text(json.dumps(run.egress, indent=1) + "\n")
    for n, step in enumerate(run.steps, 1):
        (out / f"step{n}.stdout.jsonl").write_text(step.stdout)
        (out / f"step{n}.stderr.txt").write_text(step.stderr)
    (out / "outputs.json").write_text(json.dumps(run.outputs(), indent=1) + "\n")


SCENARIOS = {"main": MAIN, "extras": EXTRAS}


def main(argv: list[str]) -> int:
    """``harness.py [OUT_DIR] [main|extras|all]`` — run once, print where things are."""
    import tempfile
    root = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="codex-e2e-"))
    names = list(SCENARIOS) if len(argv) > 2 and argv[2] == "all" else [
        argv[2] if len(argv) > 2 else "main"]
    t = time.perf_counter()
    binary = ensure_cli()
    print(f"codex binary: {binary} (install/check {time.perf_counter() - t:.1f}s)")
    ok = True
    for name in names:
        run = run_session(binary, root / name if len(names) > 1 else root, SCENARIOS[name])
        save_run(run, run.root / "recorded")
        print(json.dumps(run.outputs(), indent=1))
        for step in run.steps:
            if step.returncode != 0:
                print(step.stderr[-2000:], file=sys.stderr)
        print(f"recorded: {run.root / 'recorded'}")
        ok = ok and run.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
