"""Re-record the REAL Gemini CLI fixtures in tests/fixtures/gemini from the real CLI.

    python tests/e2e/gemini/record_fixtures.py [WORK_DIR]

Runs the ``main`` scenario (telemetry over OTLP/HTTP to the local recorder) and the
``outfile`` scenario (telemetry to a local file) of ``harness.py`` in ``WORK_DIR``
(default: a new temporary folder; its paths end up inside the fixtures, as written),
copies what they wrote into ``tests/fixtures/gemini/``, and runs
``npx --yes ccusage@20.0.24 gemini daily|session|monthly --json --offline --timezone UTC``
with ``GEMINI_DATA_DIR`` pointing at the copied ``gemini_home``. It checks ccusage's
totals against the stand-in's usage and exits non-zero on a mismatch.
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
    key = "blueplane_e2e_gemini_harness"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / "harness.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_harness = _load_harness()
GeminiRun = _harness.GeminiRun
ensure_cli = _harness.ensure_cli
run_session = _harness.run_session

FIXTURES = HERE.parent.parent / "fixtures" / "gemini"
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


def copy_main(run: GeminiRun, dest: Path) -> None:
    for child in ("gemini_home", "hook_payloads", "otlp", "cli_output"):
        shutil.rmtree(dest / child, ignore_errors=True)
    home = dest / "gemini_home"
    for path in run.gemini_dir.rglob("*"):
        rel = path.relative_to(run.gemini_dir)
        if path.is_file() and (rel.parts[0] in ("tmp", "history")
                               or rel.name in ("settings.json", "projects.json")):
            target = home / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for n, hook in enumerate(run.hooks(), 1):
        _write_json(dest / "hook_payloads" / f"{n:02d}-{hook['label']}.json", hook["payload"])
    shutil.copy2(run.hook_log, dest / "hook_payloads" / "recorded.jsonl")
    index = []
    for n, req in enumerate(run.otlp, 1):
        signal = req["path"].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        path = _write_json(dest / "otlp" / f"{n:03d}-{signal}.json", req, gz=signal != "logs")
        index.append({"file": path.name, "path": req["path"], "content_type": req["content_type"],
                      "transfer_encoding": req.get("transfer_encoding"), "bytes": req["bytes"]})
    _write_json(dest / "otlp" / "index.json", index)
    for n, step in enumerate(run.steps, 1):
        (dest / "cli_output").mkdir(parents=True, exist_ok=True)
        (dest / "cli_output" / f"step{n}.stdout.json").write_text(step.stdout)
        (dest / "cli_output" / f"step{n}.stderr.txt").write_text(step.stderr)
    _write_json(dest / "standin_usage.json", run.usage)
    _write_json(dest / "standin_requests.json", run.requests, gz=True)
    _write_json(dest / "run.json", {**run.outputs(), "egress": run.egress,
                                    "side_requests": run.side_usage})


def copy_outfile(run: GeminiRun, dest: Path) -> None:
    target = dest / "telemetry_outfile"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    assert run.telemetry_outfile is not None
    with open(run.telemetry_outfile, "rb") as src, \
            gzip.open(target / "telemetry.json.gz", "wb") as out:
        shutil.copyfileobj(src, out)
    _write_json(target / "standin_usage.json", run.usage)
    _write_json(target / "run.json", {**run.outputs(), "egress": run.egress})
    sessions = target / "chats"
    sessions.mkdir()
    for path in run.sessions:
        shutil.copy2(path, sessions / path.name)


def ccusage(gemini_dir: Path, dest: Path, scratch: Path) -> dict[str, dict]:
    npx = shutil.which("npx")
    if npx is None:
        raise SystemExit("npx is not on PATH")
    env = {**os.environ, "GEMINI_DATA_DIR": str(gemini_dir), "HOME": str(scratch),
           "NO_COLOR": "1"}
    out = {}
    for report in ("daily", "session", "monthly"):
        proc = subprocess.run([npx, "--yes", CCUSAGE, "gemini", report, "--json", "--offline",
                               "--timezone", "UTC"], env=env, capture_output=True, text=True,
                              timeout=600, cwd=scratch)
        if proc.returncode != 0:
            raise SystemExit(f"ccusage {report} failed: {proc.stderr[-800:]}")
        data = json.loads(proc.stdout)
        _write_json(dest / f"ccusage-20.0.24-gemini-{report}.json", data)
        out[report] = data
    return out


def check_parity(usage: list[dict], report: dict) -> list[str]:
    u = [x["usageMetadata"] for x in usage]
    want = {"inputTokens": sum(x["promptTokenCount"] - x["cachedContentTokenCount"] for x in u),
            "cacheReadTokens": sum(x["cachedContentTokenCount"] for x in u),
            "outputTokens": sum(x["candidatesTokenCount"] for x in u),
            "totalTokens": sum(x["totalTokenCount"] for x in u)}
    got = report["totals"]
    return [f"{k}: ccusage {got.get(k)} != stand-in {v}" for k, v in want.items()
            if got.get(k) != v]


def main(argv: list[str]) -> int:
    work = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="gemini-fixtures-"))
    cli = ensure_cli()
    problems: list[str] = []
    for scenario in ("main", "outfile"):
        root = work / scenario
        shutil.rmtree(root, ignore_errors=True)
        t = time.perf_counter()
        run = run_session(cli, root, scenario)
        print(f"{scenario}: {time.perf_counter() - t:.1f}s, steps "
              f"{[(s.returncode, round(s.seconds, 2)) for s in run.steps]}, "
              f"{len(run.usage)} responses, {len(run.side_usage)} side requests, "
              f"{len(run.otlp)} OTLP requests, {len(run.egress)} egress attempts")
        if not run.ok:
            for step in run.steps:
                print(step.stderr[-2000:], file=sys.stderr)
            return 1
        if scenario == "main":
            copy_main(run, FIXTURES)
            reports = ccusage(FIXTURES / "gemini_home", FIXTURES, root)
            for name, report in reports.items():
                problems += [f"{name}: {p}" for p in check_parity(run.usage, report)]
        else:
            copy_outfile(run, FIXTURES)
    for p in problems:
        print("PARITY MISMATCH", p, file=sys.stderr)
    print(f"fixtures written under {FIXTURES}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
