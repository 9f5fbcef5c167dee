"""Record what the real Claude Code CLI exports over OTLP/HTTP, and its HTTP hooks.

Prework for issue 11 (a local OTLP/HTTP collector + HTTP hooks). One scripted, offline
``claude -p`` session per mode against the Messages stand-in (messages_standin.py): a Bash
that succeeds, a Bash that fails, a Write creating a 3-line file, an Edit the permission
rules refuse (not in --allowedTools), then a final answer. The OTel env and the HTTP hooks
live in ``~/.claude/settings.json`` of a temp HOME, as an installer would write them; two
loopback recorders (otlp_recorder.py) keep every POST.

    python tests/e2e/record_claude_otel.py              # every mode, into tests/fixtures
    python tests/e2e/record_claude_otel.py --mode http-json --out /tmp/x

The CLI is taken from ``--cli-root`` (an ``npm install --prefix`` folder; default
/work/scratch/otel/cli, where 2.1.328 is installed) or ``$CLAUDE_CLI_ROOT``.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(E2E_DIR))

from harness import installed_binary  # noqa: E402
from messages_standin import Script, StandIn, text, tool_use  # noqa: E402
from otlp_recorder import Recorder  # noqa: E402

REPO = E2E_DIR.parent.parent
DEFAULT_CLI_ROOT = Path(os.environ.get("CLAUDE_CLI_ROOT", "/work/scratch/otel/cli"))
OTEL_FIXTURES = REPO / "tests" / "fixtures" / "otel"
HOOK_FIXTURES = REPO / "tests" / "fixtures" / "http_hooks"

PROMPT = "Run the two commands, write notes.txt, edit it, then summarise."
ALLOWED_TOOLS = ["Bash(echo:*)", "Bash(ls:*)", "Write"]
NOTES = "one\ntwo\nthree\n"
FINAL = "Done: one command worked, one failed, notes.txt has 3 lines, the edit was refused."

# Every hook event 2.1.328 knows (the list in the binary). HTTP hooks are skipped for
# SessionStart and Setup by the CLI itself ("HTTP hooks are not supported for …").
ALL_HOOK_EVENTS = (
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification",
    "UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop",
    "StopFailure", "SubagentStart", "SubagentStop", "PreCompact", "PostCompact",
    "PreModelSwitch", "PostModelSwitch", "PermissionRequest", "PermissionDenied", "Setup",
    "TeammateIdle", "TaskCreated", "TaskCompleted", "Elicitation", "ElicitationResult",
    "ConfigChange", "WorktreeCreate", "WorktreeRemove", "InstructionsLoaded", "CwdChanged",
    "FileChanged", "DirectoryAdded", "MessageDisplay",
)

BASE_ENV = {  # what harness.run_session sets (minus BLUEPLANE_*)
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
}
API_KEY = "sk-ant-e2e-dummy-key"


def scenario(project: Path) -> list[list[dict]]:
    notes = str(project / "notes.txt")
    return [
        [tool_use("toolu_otel_bash_ok", "Bash", {"command": "echo hello-from-otel",
                                                 "description": "Print a greeting"})],
        [tool_use("toolu_otel_bash_fail", "Bash", {"command": "ls does-not-exist-otel",
                                                   "description": "List a missing folder"})],
        [tool_use("toolu_otel_write", "Write", {"file_path": notes, "content": NOTES})],
        [tool_use("toolu_otel_edit_refused", "Edit", {"file_path": notes, "old_string": "two",
                                                      "new_string": "TWO"})],
        [text(FINAL)],
    ]


def planned_usage(call: int) -> dict:
    """The usage the stand-in reports for its ``call``-th /v1/messages answer (1-based):
    distinct per call so each api_request event can be matched to its call."""
    c5, c1 = 30 * call, 10 * call
    return {"input_tokens": 1000 * call + 11, "output_tokens": 20 * call + 3,
            "cache_creation_input_tokens": c5 + c1, "cache_read_input_tokens": 300 * call,
            "cache_creation": {"ephemeral_5m_input_tokens": c5,
                               "ephemeral_1h_input_tokens": c1}}


class RecordingStandIn(StandIn):
    """The scripted stand-in, with distinct usage per call, a ``request-id`` header, an
    optional delay before each answer (so the session lasts long enough for several
    export intervals) and a log of the usage returned, in order."""

    def __init__(self, script: Script, delay: float = 0.0) -> None:
        self.delay = delay
        self.usage_log: list[dict] = []
        self._calls = 0
        self._usage_lock = threading.Lock()
        super().__init__(script)

    def _next_call(self) -> int:
        with self._usage_lock:
            self._calls += 1
            return self._calls

    def _handler(self):
        base = super()._handler()
        outer = self

        class Handler(base):
            _request_id: str | None = None

            def do_POST(self) -> None:
                self._request_id = None
                super().do_POST()

            def end_headers(self) -> None:
                if self._request_id:
                    self.send_header("request-id", self._request_id)
                super().end_headers()

            def _stream(self, frames: list[bytes]) -> None:
                call = outer._next_call()
                usage = planned_usage(call)
                out, entry = [], {"call": call, "stream": True, "path": self.path}
                for frame in frames:
                    head, _, data = frame.decode().partition("\ndata: ")
                    event = head.removeprefix("event: ")
                    doc = json.loads(data)
                    if event == "message_start":
                        doc["message"]["usage"] = {**usage, "output_tokens": 1}
                        entry.update(message_id=doc["message"]["id"],
                                     model=doc["message"]["model"],
                                     message_start_usage=doc["message"]["usage"])
                    elif event == "message_delta":
                        doc["usage"] = {"output_tokens": usage["output_tokens"]}
                        entry["message_delta_usage"] = doc["usage"]
                        entry["stop_reason"] = doc["delta"]["stop_reason"]
                    out.append(f"event: {event}\ndata: {json.dumps(doc)}\n\n".encode())
                entry["usage"] = usage
                entry["request_id"] = self._request_id = f"req_standin_{call:04d}"
                entry["time"] = time.time()
                with outer._usage_lock:
                    outer.usage_log.append(entry)
                if outer.delay:
                    time.sleep(outer.delay)
                super()._stream(out)

            def _json(self, data: dict) -> None:
                if data.get("type") == "message":
                    call = outer._next_call()
                    data = {**data, "usage": planned_usage(call)}
                    self._request_id = f"req_standin_{call:04d}"
                    with outer._usage_lock:
                        outer.usage_log.append({
                            "call": call, "stream": False, "path": self.path,
                            "message_id": data["id"], "model": data["model"],
                            "usage": data["usage"], "request_id": self._request_id,
                            "time": time.time()})
                super()._json(data)

        return Handler


def otel_env(endpoint: str, protocol: str = "http/json", **extra: str) -> dict[str, str]:
    env = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_LOGS_EXPORT_INTERVAL": "500",
    }
    env.update(extra)
    return env


def http_hooks(url: str, events: tuple[str, ...] = ALL_HOOK_EVENTS, **entry: object) -> dict:
    """``hooks`` settings: one HTTP handler per event (no matcher = every tool)."""
    return {event: [{"hooks": [{"type": "http", "url": url, **entry}]}] for event in events}


def write_settings(path: Path, settings: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")


@dataclass
class Run:
    returncode: int
    seconds: float
    stdout: str
    stderr: str
    project: Path
    home: Path
    usage: list[dict] = field(default_factory=list)
    api_requests: list[dict] = field(default_factory=list)

    def result(self) -> dict:
        try:
            return json.loads(self.stdout)
        except ValueError:
            return {"unparsed_stdout": self.stdout[-2000:]}


def cli_binary(root: Path = DEFAULT_CLI_ROOT) -> Path:
    binary = installed_binary(root)
    if binary is None:
        raise SystemExit(f"no Claude Code CLI under {root}/node_modules: "
                         f"npm install --prefix {root} @anthropic-ai/claude-code@2.1.328")
    return binary


def cli_version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def run_claude(binary: Path, workdir: Path, user_settings: dict | None = None,
               project_settings: dict | None = None, extra_env: dict | None = None,
               delay: float = 0.6, turns: list[list[dict]] | None = None,
               allowed: list[str] | None = None, prompt: str = PROMPT,
               extra_args: list[str] | None = None, timeout: float = 180) -> Run:
    """One ``claude -p`` session in ``workdir/project`` with HOME = ``workdir/home``."""
    project, home = workdir / "project", workdir / "home"
    project.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    if user_settings is not None:
        write_settings(home / ".claude" / "settings.json", user_settings)
    if project_settings is not None:
        write_settings(project / ".claude" / "settings.json", project_settings)
    with RecordingStandIn(Script(turns or scenario(project)), delay=delay) as api:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": API_KEY, **BASE_ENV,
               **(extra_env or {})}
        t = time.perf_counter()
        proc = subprocess.run(
            [str(binary), "-p", prompt, "--allowedTools", *(allowed or ALLOWED_TOOLS),
             "--output-format", "json", *(extra_args or [])],
            cwd=project, env=env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - t
        return Run(proc.returncode, seconds, proc.stdout, proc.stderr, project, home,
                   list(api.usage_log), list(api.requests))


def check_scenario(run: Run) -> dict:
    """What the session did to the project: the Write landed, the Edit did not."""
    notes = run.project / "notes.txt"
    content = notes.read_text() if notes.exists() else None
    result = run.result()
    return {"returncode": run.returncode, "seconds": round(run.seconds, 3),
            "result": result.get("result"), "notes_txt": content,
            "write_ok": content == NOTES, "edit_refused": content == NOTES,
            "permission_denials": result.get("permission_denials"),
            "session_id": result.get("session_id"),
            "total_cost_usd": result.get("total_cost_usd"), "usage": result.get("usage"),
            "num_turns": result.get("num_turns")}


# --- hooks fixtures -------------------------------------------------------------------------

def save_hook_fixtures(rec: Recorder, out: Path) -> list[dict]:
    """``NNN-<event>.json`` = {"path", "headers", "body"} for every hook POST."""
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("[0-9][0-9][0-9]-*.json"), out / "requests.json"]:
        old.unlink(missing_ok=True)  # only our own files: other recordings share the folder
    index = []
    for r in rec.requests:
        body = r.json()
        event = body.get("hook_event_name", "unknown") if isinstance(body, dict) else "unknown"
        name = f"{r.index:03d}-{event}.json"
        doc = {"path": r.path, "headers": r.headers, "body": body}
        (out / name).write_text(json.dumps(doc, indent=2) + "\n")
        index.append({"file": name, "event": event, "size": len(r.body),
                      "time": round(r.time, 6),
                      "tool_use_id": body.get("tool_use_id"), "tool_name": body.get("tool_name")})
    (out / "requests.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


# --- modes ----------------------------------------------------------------------------------

MODES = {
    "http-json": {"protocol": "http/json"},
    "http-protobuf": {"protocol": "http/protobuf"},
    "cumulative": {"protocol": "http/json",
                   "env": {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative"}},
    "gzip": {"protocol": "http/json", "env": {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}},
    "retry-503": {"protocol": "http/json", "fail": 1},
}


def record_mode(binary: Path, mode: str, out_root: Path, hooks_out: Path | None,
                scratch: Path) -> dict:
    spec = MODES[mode]
    out = out_root / mode
    if out.exists():
        shutil.rmtree(out)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))  # same path length
    with Recorder(directory=out) as otlp, Recorder() as hooks:
        if spec.get("fail"):
            otlp.fail_next(spec["fail"], 503)
        settings = {"env": otel_env(otlp.url, spec["protocol"], **spec.get("env", {})),
                    "hooks": http_hooks(f"{hooks.url}/hook/claude-code")}
        run = run_claude(binary, workdir, user_settings=settings)
        time.sleep(1.0)  # anything sent after exit (there should be nothing)
    summary = check_scenario(run)
    summary.update(mode=mode, cli=cli_version(binary), requests=len(otlp.requests),
                   hook_posts=len(hooks.requests), user_settings=settings,
                   settings_file="~/.claude/settings.json", stderr=run.stderr[-2000:])
    (out / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "standin_usage.json").write_text(json.dumps(run.usage, indent=2) + "\n")
    if hooks_out is not None:
        save_hook_fixtures(hooks, hooks_out)
    return summary


def record_resume(binary: Path, out_root: Path, scratch: Path) -> dict:
    """Three one-turn runs in one HOME and project, into one recorder: a fresh session,
    ``--continue``, then ``--resume <id>``. Shows what session.id and event.sequence do
    across processes of the same session."""
    out = out_root / "resume"
    if out.exists():
        shutil.rmtree(out)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    runs = []
    with Recorder(directory=out) as otlp:
        settings = {"env": otel_env(otlp.url)}
        session_id = None
        for step, args in (("fresh", []), ("continue", ["--continue"]), ("resume", None)):
            before = len(otlp.requests)
            args = ["--resume", session_id] if args is None else args
            run = run_claude(binary, workdir, user_settings=settings, delay=0.0,
                             turns=[[text(f"Answer ({step}).")]] * 3, prompt=f"Say {step}.",
                             extra_args=args)
            time.sleep(1.0)
            session_id = run.result().get("session_id")
            runs.append({"step": step, "args": args, "returncode": run.returncode,
                         "session_id": session_id,
                         "files": [r.file_name for r in otlp.requests[before:]]})
    (out / "run.json").write_text(json.dumps({"cli": cli_version(binary), "runs": runs,
                                              "user_settings": settings}, indent=2) + "\n")
    return {"runs": runs}


def check_project_env(binary: Path, scratch: Path) -> dict:
    """The same OTel env in the project's .claude/settings.json (user settings empty)."""
    out = {}
    for where in ("project", "project-local", "user"):
        workdir = Path(tempfile.mkdtemp(prefix=f"env-{where}-", dir=scratch))
        with Recorder() as otlp:
            env = {"env": otel_env(otlp.url)}
            if where == "project":
                run = run_claude(binary, workdir, user_settings={}, project_settings=env)
            elif where == "project-local":
                write_settings(workdir / "project" / ".claude" / "settings.local.json", env)
                run = run_claude(binary, workdir, user_settings={})
            else:
                run = run_claude(binary, workdir, user_settings=env)
            time.sleep(1.0)
        out[where] = {"returncode": run.returncode, "otlp_posts": len(otlp.requests),
                      "paths": sorted({r.path for r in otlp.requests})}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-root", type=Path, default=DEFAULT_CLI_ROOT)
    parser.add_argument("--mode", action="append", choices=[*MODES, "resume", "project-env"])
    parser.add_argument("--out", type=Path, help="default tests/fixtures/otel/claude-code-<v>")
    parser.add_argument("--hooks-out", type=Path,
                        help="default tests/fixtures/http_hooks/claude-code-<v>")
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/otel/runs"))
    args = parser.parse_args()
    binary = cli_binary(args.cli_root)
    version = cli_version(binary).split()[0]
    out_root = args.out or OTEL_FIXTURES / f"claude-code-{version}"
    hooks_out = args.hooks_out or HOOK_FIXTURES / f"claude-code-{version}"
    args.scratch.mkdir(parents=True, exist_ok=True)
    out_root.mkdir(parents=True, exist_ok=True)
    modes = args.mode or [*MODES, "resume", "project-env"]
    for mode in modes:
        if mode == "resume":
            print("resume", json.dumps(record_resume(binary, out_root, args.scratch)))
            continue
        if mode == "project-env":
            res = check_project_env(binary, args.scratch)
            (out_root / "settings_env_check.json").write_text(json.dumps(res, indent=2) + "\n")
            print("project-env", json.dumps(res))
            continue
        summary = record_mode(binary, mode, out_root,
                              hooks_out if mode == "http-json" else None, args.scratch)
        if mode == "http-json":
            shutil.copy(out_root / mode / "standin_usage.json", out_root / "standin_usage.json")
        print(mode, {k: summary[k] for k in ("returncode", "seconds", "requests", "hook_posts",
                                            "write_ok", "edit_refused", "result")})


if __name__ == "__main__":
    main()
