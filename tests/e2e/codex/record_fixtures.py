"""Re-record the REAL Codex fixtures in tests/fixtures/codex from the real CLI.

    python tests/e2e/codex/record_fixtures.py [WORK_DIR]

Runs the MAIN and EXTRAS scenarios of ``harness.py`` in ``WORK_DIR`` (default: a new
temporary folder; the paths it contains end up inside the fixtures, as written), copies
what they wrote into ``tests/fixtures/codex/`` (MAIN) and ``tests/fixtures/codex/extras/``
(EXTRAS), and runs ``npx --yes ccusage@20.0.24 codex daily|session|monthly --json
--offline --timezone UTC`` over each copied ``codex_home``. It checks that ccusage's
totals equal the stand-in's usage (ccusage's convention: input excludes cached, reasoning
inside output) and exits non-zero if not. npx needs the npm registry once (install only).
Nothing here is needed by the tests themselves; it only documents how the files were made.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load_harness():
    """This folder's harness.py under a unique module name (see its docstring)."""
    key = "blueplane_e2e_codex_harness"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / "harness.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_harness = _load_harness()
EXTRAS = _harness.EXTRAS
MAIN = _harness.MAIN
CodexRun = _harness.CodexRun
ensure_cli = _harness.ensure_cli
read_jsonl = _harness.read_jsonl
run_session = _harness.run_session

FIXTURES = HERE.parent.parent / "fixtures" / "codex"
CCUSAGE = "ccusage@20.0.24"


def _write_json(path: Path, data: object, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1) + "\n"
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def copy_run(run: CodexRun, dest: Path) -> None:
    if dest.exists():
        for child in ("codex_home", "hook_payloads", "notify", "otlp", "exec_json"):
            shutil.rmtree(dest / child, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    home = dest / "codex_home"
    for rollout in run.rollouts + run.archived:
        target = home / rollout.relative_to(run.codex_home)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(rollout, target)
    for name in ("config.toml", "hooks.json"):
        shutil.copy2(run.codex_home / name, home / name)
    for n, hook in enumerate(run.hooks(), 1):
        _write_json(dest / "hook_payloads" / f"{n:02d}-{hook['label']}.json", hook["payload"])
    shutil.copy2(run.hook_log, dest / "hook_payloads" / "recorded.jsonl")
    for n, note in enumerate(run.notifications(), 1):
        _write_json(dest / "notify" / f"{n:02d}-{(note['payload'] or {}).get('type')}.json",
                    note["payload"])
    index = []
    for n, req in enumerate(run.otlp, 1):
        signal = req["path"].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        path = _write_json(dest / "otlp" / f"{n:03d}-{signal}.json", req, gz=signal != "logs")
        index.append({"file": path.name, "path": req["path"], "content_type": req["content_type"],
                      "content_encoding": req["content_encoding"], "bytes": req["bytes"]})
    _write_json(dest / "otlp" / "index.json", index)
    for n, step in enumerate(run.steps, 1):
        (dest / "exec_json").mkdir(parents=True, exist_ok=True)
        (dest / "exec_json" / f"step{n}.jsonl").write_text(step.stdout)
    _write_json(dest / "standin_usage.json", run.usage)
    _write_json(dest / "standin_requests.json", run.requests, gz=True)
    _write_json(dest / "run.json", {
        **run.outputs(), "egress": run.egress,
        "steps": [{"argv": s.argv[1:], "returncode": s.returncode,
                   "seconds": round(s.seconds, 2), "stderr_tail": s.stderr[-400:]}
                  for s in run.steps]})


def ccusage(codex_home: Path, dest: Path, scratch: Path) -> dict[str, dict]:
    npx = shutil.which("npx")
    if npx is None:
        raise SystemExit("npx is not on PATH")
    env = {**os.environ, "CODEX_HOME": str(codex_home), "HOME": str(scratch), "NO_COLOR": "1"}
    out = {}
    for report in ("daily", "session", "monthly"):
        proc = subprocess.run([npx, "--yes", CCUSAGE, "codex", report, "--json", "--offline",
                               "--timezone", "UTC"], env=env, capture_output=True, text=True,
                              timeout=600, cwd=scratch)
        if proc.returncode != 0:
            raise SystemExit(f"ccusage {report} failed: {proc.stderr[-800:]}")
        data = json.loads(proc.stdout)
        _write_json(dest / f"ccusage-20.0.24-codex-{report}.json", data)
        out[report] = data
    return out


def check_parity(usage: list[dict], report: dict) -> list[str]:
    want = {"inputTokens": sum(u["usage"]["input_tokens"] - u["usage"]["cached_tokens"]
                               for u in usage),
            "cacheReadTokens": sum(u["usage"]["cached_tokens"] for u in usage),
            "outputTokens": sum(u["usage"]["output_tokens"] for u in usage),
            "reasoningOutputTokens": sum(u["usage"]["reasoning_tokens"] for u in usage),
            "totalTokens": sum(u["usage"]["total_tokens"] for u in usage)}
    got = report["totals"]
    return [f"{k}: ccusage {got.get(k)} != stand-in {v}" for k, v in want.items()
            if got.get(k) != v]


def main(argv: list[str]) -> int:
    work = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="codex-fixtures-"))
    binary = ensure_cli()
    problems = []
    for scenario, dest in ((MAIN, FIXTURES), (EXTRAS, FIXTURES / "extras")):
        root = work / scenario.name
        shutil.rmtree(root, ignore_errors=True)
        t = time.perf_counter()
        run = run_session(binary, root, scenario)
        print(f"{scenario.name}: {time.perf_counter() - t:.1f}s, steps "
              f"{[(s.returncode, round(s.seconds, 2)) for s in run.steps]}, "
              f"{len(run.usage)} responses, {len(run.otlp)} OTLP requests, "
              f"{len(run.egress)} egress attempts")
        if not run.ok:
            for step in run.steps:
                print(step.stderr[-1500:], file=sys.stderr)
            return 1
        copy_run(run, dest)
        reports = ccusage(dest / "codex_home", dest, root)
        for name, report in reports.items():
            problems += [f"{scenario.name} {name}: {p}" for p in check_parity(run.usage, report)]
        print(f"  hooks fired: {[h['label'] for h in read_jsonl(run.hook_log)]}")
    for p in problems:
        print("PARITY MISMATCH", p, file=sys.stderr)
    print(f"fixtures written under {FIXTURES}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
