"""How the real Claude Code CLI treats the answers of an HTTP hook receiver.

Prework for issue 11. The scripted session of record_claude_otel.py runs once per probe,
with an HTTP hook for every event in ``~/.claude/settings.json`` and OTel (http/json) on,
so the CLI's own ``hook_execution_complete`` counters say how it judged each answer. The
probes: 200 + empty body, 200 + ``{}``, the receiver down (connection refused), 500, 404,
a non-JSON 200, a slow receiver past the hook's ``timeout``, and two answers that change
the session (``{"continue": false}`` and a PreToolUse deny), which a telemetry receiver
must never send.

    python tests/e2e/probe_http_hooks.py [--only NAME] [--out FILE]

Writes a JSON summary (default tests/fixtures/http_hooks/claude-code-<v>/response_probes.json).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from otlp_fixtures import log_records  # noqa: E402
from otlp_recorder import Recorder  # noqa: E402
from record_claude_otel import (  # noqa: E402
    ALL_HOOK_EVENTS,
    DEFAULT_CLI_ROOT,
    HOOK_FIXTURES,
    NOTES,
    check_scenario,
    cli_binary,
    cli_version,
    http_hooks,
    otel_env,
    run_claude,
)

DENY = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                               "permissionDecisionReason": "the receiver said no"}}
PROBES = {
    "empty-200": {"body": b""},
    "json-{}": {"body": b"{}"},
    "down": {"down": True},
    "status-500": {"status": 500},
    "status-404": {"status": 404},
    "non-json-200": {"body": b"ok"},
    "slow-3s-timeout-1s": {"delay": 3.0, "entry": {"timeout": 1}},
    "continue-false": {"body": json.dumps({"continue": False,
                                           "stopReason": "the receiver said stop"}).encode()},
    "pretooluse-deny": {"body": json.dumps(DENY).encode()},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hook_stats(otlp: Recorder) -> dict:
    """From the CLI's own hook_execution_complete events: how each hook run was judged."""
    totals: Counter = Counter()
    per_event: dict[str, Counter] = {}
    for r in otlp.requests:
        if r.name != "logs":
            continue
        for rec in log_records(r.json()):
            if rec["event"] != "hook_execution_complete":
                continue
            a = {k: v for k, (_, v) in rec["attrs"].items()}
            c = per_event.setdefault(a["hook_event"], Counter())
            for key in ("num_hooks", "num_success", "num_blocking", "num_non_blocking_error",
                        "num_cancelled"):
                c[key] += int(a[key])
                totals[key] += int(a[key])
    return {"totals": dict(totals), "per_event": {k: dict(v) for k, v in per_event.items()}}


def tool_results(otlp: Recorder) -> list[tuple]:
    out = []
    for r in otlp.requests:
        if r.name == "logs":
            for rec in log_records(r.json()):
                a = {k: v for k, (_, v) in rec["attrs"].items()}
                if rec["event"] in ("tool_decision", "tool_result"):
                    out.append((rec["event"], a.get("tool_use_id"),
                                a.get("decision") or a.get("success"), a.get("source")))
    return out


def debug_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    keep = []
    for line in path.read_text(errors="replace").splitlines():
        if "HTTP hook" in line or "hook error" in line.lower() or "timed out" in line:
            # drop the timestamp prefix; keep the message
            keep.append(line.split("] ", 1)[-1][:300])
    return keep


def probe(binary: Path, name: str, spec: dict, scratch: Path) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="hookprobe-", dir=scratch))
    debug = workdir / "debug.log"
    with Recorder() as otlp, Recorder(delay=spec.get("delay", 0.0)) as hooks:
        hooks.response_body = spec.get("body")
        if spec.get("status"):
            hooks.fail_next(1000, spec["status"])
        url = (f"http://127.0.0.1:{free_port()}/hook/claude-code" if spec.get("down")
               else f"{hooks.url}/hook/claude-code")
        settings = {"env": otel_env(otlp.url),
                    "hooks": http_hooks(url, ALL_HOOK_EVENTS, **spec.get("entry", {}))}
        run = run_claude(binary, workdir, user_settings=settings,
                         extra_args=["--debug-file", str(debug)])
        time.sleep(1.0)
    summary = check_scenario(run)
    return {
        "probe": name,
        "receiver": {k: (v.decode() if isinstance(v, bytes) else v) for k, v in spec.items()},
        "returncode": run.returncode, "seconds": summary["seconds"],
        "result": summary["result"], "num_turns": summary["num_turns"],
        "notes_txt_written": summary["notes_txt"] == NOTES,
        "permission_denials": [d["tool_use_id"] for d in summary["permission_denials"] or []],
        "hook_posts": len(hooks.requests),
        "hook_events": [r.json().get("hook_event_name") for r in hooks.requests]
        if not spec.get("down") else [],
        "tool_events": tool_results(otlp),
        "cli_hook_judgement": hook_stats(otlp),
        "debug_log": sorted(set(debug_lines(debug))),
        "stderr": run.stderr[-500:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-root", type=Path, default=DEFAULT_CLI_ROOT)
    parser.add_argument("--only", action="append", choices=list(PROBES))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/otel/runs"))
    args = parser.parse_args()
    binary = cli_binary(args.cli_root)
    version = cli_version(binary).split()[0]
    args.scratch.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.only or PROBES:
        res = probe(binary, name, PROBES[name], args.scratch)
        results.append(res)
        print(name, json.dumps({k: res[k] for k in ("returncode", "seconds", "result",
                                                    "hook_posts", "notes_txt_written")}),
              res["cli_hook_judgement"]["totals"], flush=True)
    out = args.out or HOOK_FIXTURES / f"claude-code-{version}" / "response_probes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cli": version, "probes": results}, indent=2) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
