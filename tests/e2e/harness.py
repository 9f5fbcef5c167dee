"""Run the real Claude Code CLI (pinned in ``package.json``) on a scripted, offline session.

Shared by the e2e test and ``benchmarks/bench_claude_hooks.py``. The CLI is installed from
this folder's own ``package-lock.json`` with ``npm ci`` when ``node_modules`` is missing.
npm may not run the package's postinstall (which copies the native binary over a
placeholder), so the binary is taken from the platform package directly.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from messages_standin import Script, StandIn, text, tool_use

E2E_DIR = Path(__file__).resolve().parent
PACKAGE = "@anthropic-ai/claude-code"

# The scripted session: a tool that succeeds, one that fails, one the permission rules refuse
# (not in ALLOWED_TOOLS; ``-p`` cannot ask), then a final answer.
PROMPT = "Run the three commands, then summarise."
ALLOWED_TOOLS = ["Bash(echo:*)", "Bash(ls:*)"]
SCENARIO = [
    [tool_use("toolu_e2e_ok", "Bash", {"command": "echo hello-from-e2e",
                                       "description": "Print a greeting"})],
    [tool_use("toolu_e2e_fail", "Bash", {"command": "ls does-not-exist-e2e",
                                         "description": "List a missing folder"})],
    [tool_use("toolu_e2e_refused", "Bash", {"command": "touch refused-e2e.txt",
                                            "description": "Create a file"})],
    [text("All three commands ran; one failed and one was not allowed.")],
]


class CliUnavailable(RuntimeError):
    """The CLI cannot be installed or run here; the message says why."""


def _platform_package() -> str:
    system = sys.platform
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    musl = system == "linux" and not platform.libc_ver()[0]
    return f"{PACKAGE}-{system}-{arch}{'-musl' if musl else ''}"


def installed_binary(root: Path = E2E_DIR) -> Path | None:
    modules = root / "node_modules"
    native = modules / _platform_package() / ("claude.exe" if sys.platform == "win32" else "claude")
    if native.is_file():
        return native
    wrapper = modules / PACKAGE / "bin" / "claude.exe"
    return wrapper if wrapper.is_file() and wrapper.stat().st_size > 1_000_000 else None


def ensure_cli(root: Path = E2E_DIR) -> Path:
    """The pinned CLI binary, running ``npm ci`` first if it is not installed yet."""
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


def pinned_version(root: Path = E2E_DIR) -> str:
    return json.loads((root / "package.json").read_text())["dependencies"][PACKAGE]


def write_reference_hooks(project: Path, log: Path, events: tuple[str, ...]) -> dict:
    """Another tool's hooks in ``project/.claude/settings.json``: each appends its stdin to
    ``log`` (one line per event). They tell what the CLI really fired."""
    script = project / ".other-tool" / "log_hook.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        "import sys\n"
        "data = sys.stdin.read().replace('\\n', ' ')\n"
        f"with open({str(log)!r}, 'a') as fh:\n"
        "    fh.write(data + '\\n')\n")
    command = f"{sys.executable} -S {script}"
    settings = {"hooks": {event: [{"hooks": [{"type": "command", "command": command}]}]
                          for event in events}}
    (project / ".claude").mkdir(parents=True, exist_ok=True)
    (project / ".claude" / "settings.json").write_text(json.dumps(settings, indent=2))
    return settings


def read_log(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


@dataclass
class SessionRun:
    returncode: int
    seconds: float
    stdout: str
    stderr: str
    requests: list[dict]


def run_session(binary: Path, project: Path, home: Path, blueplane_home: Path,
                scenario: list[list[dict]] | None = None, timeout: float = 180,
                model: str | None = None) -> SessionRun:
    """One ``claude -p`` session against the stand-in; HOME is a private folder. ``model``
    is passed as ``--model`` (the CLI's default model may be one no price list knows)."""
    home.mkdir(parents=True, exist_ok=True)
    with StandIn(Script(scenario or SCENARIO)) as api:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": api.url,
            "ANTHROPIC_API_KEY": "sk-ant-e2e-dummy-key",
            "BLUEPLANE_HOME": str(blueplane_home),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
        }
        for key in ("BLUEPLANE_REDIS_URL", "BLUEPLANE_PRIVACY_MODE", "PYTHONDONTWRITEBYTECODE"):
            if key in os.environ:
                env[key] = os.environ[key]
        t = time.perf_counter()
        proc = subprocess.run(
            [str(binary), "-p", PROMPT, "--allowedTools", *ALLOWED_TOOLS,
             "--output-format", "json", *(["--model", model] if model else [])],
            cwd=project, env=env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - t
        return SessionRun(proc.returncode, seconds, proc.stdout, proc.stderr, list(api.requests))
