"""What a hook costs the real Claude Code CLI: none vs command hooks vs HTTP hooks.

Prework for issue 11. The scripted session of record_claude_otel.py (Bash ok, Bash fail,
Write, refused Edit, answer; the stand-in answers at once) runs N times per mode,
interleaved (none, command, http, none, …) after one discarded warm-up round:

- ``none``: no hooks.
- ``command``: what ``blueplane install claude-code`` registers today, built with the
  installer's own functions: ``<venv python> -S …/capture/run_hook.py claude-code || true``
  for every event in CLAUDE_EVENTS (BLUEPLANE_HOME = a fresh temp dir per run; no Redis
  there, so every event goes to the spool).
- ``http``: the same events and matchers as ``{"type": "http", "url": …}`` to an
  in-process recorder (otlp_recorder.Recorder) answering 200 ``{}``.

Per-event cost = (median wall time of the mode − median of ``none``) / events delivered.
With ``--otel`` every mode also exports OTel (http/json, to a recorder), and the CLI's
own ``hook_execution_complete.total_duration_ms`` gives a second, timing-noise-free view.

    python tests/e2e/measure_hook_transport.py --runs 5 [--otel] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parent.parent
sys.path.insert(0, str(E2E_DIR))

from otlp_fixtures import log_records  # noqa: E402
from otlp_recorder import Recorder  # noqa: E402
from record_claude_otel import DEFAULT_CLI_ROOT, cli_binary, cli_version, otel_env, run_claude  # noqa: E402

VENV_PYTHON = REPO / ".venv" / "bin" / "python"
FALLBACK_EVENTS = (
    "SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PermissionDenied",
    "PostToolUse", "PostToolUseFailure", "Notification", "SubagentStart", "SubagentStop",
    "PreCompact", "PostCompact", "Stop", "StopFailure", "SessionEnd")
FALLBACK_TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest",
                        "PermissionDenied"}


def command_hooks() -> tuple[dict, str]:
    """The installer's hooks block and where it came from."""
    sys.path.insert(0, str(REPO))
    try:
        from blueplane_pipeline.capture import installers as inst
        command = inst.hook_command("claude-code", str(VENV_PYTHON))
        if hasattr(inst, "add_grouped_hooks"):  # the layout after the restructuring
            hooks = inst.add_grouped_hooks({}, inst.layout("claude-code"), command)["hooks"]
            return hooks, "blueplane_pipeline.capture.installers.add_grouped_hooks"
        return inst.add_claude_hooks({}, command)["hooks"], \
            "blueplane_pipeline.capture.installers.add_claude_hooks"
    except Exception as exc:  # the package is being restructured: mirror it instead
        command = (f"{VENV_PYTHON} -S {REPO}/blueplane_pipeline/capture/run_hook.py "
                   "claude-code || true")
        hooks = {}
        for event in FALLBACK_EVENTS:
            group: dict = {"matcher": "*"} if event in FALLBACK_TOOL_EVENTS else {}
            group["hooks"] = [{"type": "command", "command": command, "timeout": 10}]
            hooks[event] = [group]
        return hooks, f"replica (import failed: {exc!r})"


def http_hooks_like(command: dict, url: str) -> dict:
    """The same events and matchers, each handler an HTTP POST to ``url``."""
    out = {}
    for event, groups in command.items():
        out[event] = [{**{k: v for k, v in g.items() if k != "hooks"},
                       "hooks": [{"type": "http", "url": url, "timeout": 10}]} for g in groups]
    return out


def spooled(blueplane_home: Path) -> int:
    spool = blueplane_home / "spool"
    if not spool.is_dir():
        return 0
    return sum(len(p.read_text().splitlines()) for p in spool.glob("*.jsonl"))


def hook_ms(otlp: Recorder | None) -> list[int]:
    if otlp is None:
        return []
    out = []
    for r in otlp.requests:
        if r.name == "logs":
            out += [int(x["attrs"]["total_duration_ms"][1]) for x in log_records(r.json())
                    if x["event"] == "hook_execution_complete"]
    return out


def one_run(binary: Path, mode: str, scratch: Path, cmd_hooks: dict, otel: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"measure-{mode}-", dir=scratch))
    bp_home = workdir / "blueplane"
    with Recorder() as hooks_rec, Recorder() as otlp:
        settings: dict = {}
        if otel:
            settings["env"] = otel_env(otlp.url)
        if mode == "command":
            settings["hooks"] = cmd_hooks
        elif mode == "http":
            settings["hooks"] = http_hooks_like(cmd_hooks, f"{hooks_rec.url}/hook/claude-code")
        run = run_claude(binary, workdir, user_settings=settings, delay=0.0,
                         extra_env={"BLUEPLANE_HOME": str(bp_home)})
        if otel:
            time.sleep(0.5)
    events = {"none": 0, "command": spooled(bp_home), "http": len(hooks_rec.requests)}[mode]
    return {"mode": mode, "seconds": run.seconds, "returncode": run.returncode,
            "events": events, "hook_ms": hook_ms(otlp if otel else None),
            "ok": run.returncode == 0 and (run.project / "notes.txt").exists()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-root", type=Path, default=DEFAULT_CLI_ROOT)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--otel", action="store_true")
    parser.add_argument("--json", type=Path, help="write every run and the summary here")
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/otel/measure"))
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    binary = cli_binary(args.cli_root)
    cmd_hooks, source = command_hooks()
    modes = ("none", "command", "http")
    for mode in modes:  # warm-up (page cache, bytecode), discarded
        one_run(binary, mode, args.scratch, cmd_hooks, args.otel)
    runs = [one_run(binary, mode, args.scratch, cmd_hooks, args.otel)
            for _ in range(args.runs) for mode in modes]
    summary = {}
    for mode in modes:
        rs = [r for r in runs if r["mode"] == mode]
        secs = [r["seconds"] for r in rs]
        ms = [m for r in rs for m in r["hook_ms"]]
        summary[mode] = {"median_s": round(statistics.median(secs), 3),
                         "min_s": round(min(secs), 3), "max_s": round(max(secs), 3),
                         "runs_s": [round(s, 3) for s in secs],
                         "events": sorted({r["events"] for r in rs}),
                         "all_ok": all(r["ok"] for r in rs)}
        if ms:
            summary[mode]["cli_hook_total_duration_ms"] = {
                "n": len(ms), "median": statistics.median(ms),
                "mean": round(statistics.mean(ms), 1), "max": max(ms)}
    base = summary["none"]["median_s"]
    for mode in ("command", "http"):
        ev = summary[mode]["events"][0] if len(summary[mode]["events"]) == 1 else \
            statistics.median(summary[mode]["events"])
        summary[mode]["per_event_ms"] = round((summary[mode]["median_s"] - base) / ev * 1000, 1) \
            if ev else None
    result = {"cli": cli_version(binary), "runs_per_mode": args.runs, "otel": args.otel,
              "command_hooks_from": source, "cpus": os.cpu_count(),
              "command": cmd_hooks.get("Stop", [{}])[0].get("hooks", [{}])[0].get("command"),
              "summary": summary, "runs": runs}
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
