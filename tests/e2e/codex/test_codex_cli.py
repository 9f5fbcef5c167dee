"""The real Codex CLI 0.171.0, captured live and from its rollout, equal to ccusage.

``blueplane install codex`` registers our hook in a temp ``CODEX_HOME`` beside the
harness's recording hooks (another tool's, as far as we are concerned); the harness then
runs the two-turn MAIN scenario against the scripted Responses API stand-in on loopback
(a shell command that succeeds, one that fails, an ``apply_patch``, one that does not
apply, then ``codex exec resume``). Checked: every hook event Codex fired arrives once;
after ``blueplane import codex`` every tool call is there once with the outcome its exit
code says; ``blueplane usage … --agent codex --json`` equals the stand-in's usage and
ccusage 20.0.24's ``codex daily|session --json`` over the same files.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from blueplane_pipeline.capture.installers import owner_of
from blueplane_pipeline.core import config
from blueplane_pipeline.ingest.drain import ingest
from blueplane_pipeline.storage.db import open_db
from blueplane_pipeline.storage.reader import iter_events

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
TOKEN_KEYS = (
    "inputTokens",
    "cacheReadTokens",
    "cacheCreationTokens",
    "outputTokens",
    "reasoningOutputTokens",
    "totalTokens",
)


def _harness():
    key = "blueplane_e2e_codex_harness_main"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / "harness.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="module")
def codex_cli():
    harness = _harness()
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the real Codex CLI cannot be installed")
    try:
        return harness.ensure_cli()
    except harness.CliUnavailable as exc:
        pytest.fail(f"the real Codex CLI is unavailable: {exc}")


def blueplane(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("blueplane")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, check=True, env=env)


def ccusage(codex_home: Path, report: str, home: Path) -> dict:
    """ccusage 20.0.24 over the same files: its native binary from the npm cache (where
    ``npx ccusage@20.0.24`` put it), else through npx."""
    pattern = str(Path.home() / ".npm/_npx/*/node_modules/@ccusage/ccusage-*/bin/ccusage")
    found = [
        p
        for p in glob.glob(pattern)
        if json.loads((Path(p).parents[1] / "package.json").read_text())["version"] == "20.0.24"
    ]
    cmd = [found[0]] if found else ["npx", "--yes", "ccusage@20.0.24"]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "TZ": "UTC",
    }
    out = subprocess.run(
        [*cmd, "codex", report, "--json", "--offline", "--timezone", "UTC"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if out.returncode != 0:
        pytest.fail(f"ccusage failed: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def same_cost(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= 1e-6 * abs(theirs) + 1e-12


def test_codex_live_and_imported_equal_the_standin_and_ccusage(codex_cli, redis_home, tmp_path):
    harness = _harness()
    installed: list[str] = []

    def install(codex_home: Path) -> None:
        env = {**os.environ, "CODEX_HOME": str(codex_home)}
        installed.append(blueplane("install", "codex", env=env).stdout)

    run = harness.run_session(codex_cli, tmp_path, configure=install)
    assert run.ok, [s.stderr[-800:] for s in run.steps]
    assert run.egress == []  # nothing tried to leave the machine
    assert "Registered blueplane-hook for 12 Codex CLI events" in installed[0]
    hooks_doc = json.loads((run.codex_home / "hooks.json").read_text())
    for groups in hooks_doc["hooks"].values():
        assert "record_hook.py" in groups[0]["hooks"][0]["command"]  # the other hook kept
        assert owner_of(groups[-1]["hooks"][0]["command"]) == "codex"
    assert hooks_doc["hooks"]["SessionEnd"][-1]["hooks"][0]["timeout"] == 3

    # live: every hook event Codex fired, once
    ingest(config.db_path(), trigger="e2e")
    conn = open_db(config.db_path())
    try:
        ours = [
            ev.envelope
            for ev in iter_events(conn, platform="codex")
            if ev.envelope["source"] == "hook"
        ]
    finally:
        conn.close()
    fired = [h["payload"] for h in run.hooks()]

    def key(p: dict) -> tuple:
        return (p.get("hook_event_name"), p.get("tool_use_id"), p.get("turn_id"), p.get("source"))

    assert Counter(key(e["payload"]) for e in ours) == Counter(key(p) for p in fired)
    names = Counter(p["hook_event_name"] for p in fired)
    assert names["PreToolUse"] == 5 and names["PostToolUse"] == 4  # no Post for a bad patch
    assert names["SessionStart"] == names["SessionEnd"] == names["Stop"] == 2

    # history: import the rollout, each tool call once with the outcome of its exit code
    imported = blueplane("import", "codex", "--codex-home", str(run.codex_home), "--json")
    assert json.loads(imported.stdout)["import"]["files_found"] == 1
    from tests._telemetry_db import refresh_tables

    refresh_tables(config.db_path())
    conn = open_db(config.db_path())
    try:
        calls = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT tool_use_id, tool_name, status, lines_added, lines_removed, sources"
                " FROM tool_calls WHERE platform = 'codex'"
            )
        }
        sessions = conn.execute(
            "SELECT count(*) FROM sessions WHERE platform = 'codex'"
        ).fetchone()[0]
        prompts, title = conn.execute(
            "SELECT prompts, title FROM sessions WHERE platform = 'codex'"
        ).fetchone()
    finally:
        conn.close()
    assert sessions == 1  # exec and exec resume: one thread
    # each prompt once, although both the hook and the rollout recorded it
    assert prompts == 2 and title.startswith("Run the two shell commands")
    assert {k: v[:2] for k, v in calls.items()} == {
        "call_e2e_ok": ("Bash", "success"),
        "call_e2e_fail": ("Bash", "error"),  # exit 2; Codex's PostToolUse says nothing
        "call_e2e_patch": ("apply_patch", "success"),
        "call_e2e_badpatch": ("apply_patch", "error"),
        "call_e2e_resume": ("Bash", "success"),
    }
    assert calls["call_e2e_patch"][2:4] == (5, 2)
    assert all(v[4] == "hook+rollout" for k, v in calls.items() if k != "call_e2e_badpatch")

    # usage: the stand-in's numbers, and ccusage's over the same files
    served = [r["usage"] for r in run.usage]
    daily = json.loads(
        blueplane("usage", "daily", "--agent", "codex", "--json", "--timezone", "UTC").stdout
    )
    totals = daily["totals"]
    cached = sum(r["cached_tokens"] for r in served)
    assert totals["inputTokens"] == sum(r["input_tokens"] for r in served) - cached
    assert totals["cacheReadTokens"] == cached
    assert totals["outputTokens"] == sum(r["output_tokens"] for r in served)
    assert totals["reasoningOutputTokens"] == sum(r["reasoning_tokens"] for r in served)
    assert totals["totalTokens"] == sum(r["total_tokens"] for r in served)
    for report in ("daily", "session"):
        ours_report = json.loads(
            blueplane("usage", report, "--agent", "codex", "--json", "--timezone", "UTC").stdout
        )
        theirs = ccusage(run.codex_home, report, tmp_path / "home")
        rows = "sessions" if report == "session" else "daily"
        assert len(ours_report[rows]) == len(theirs[rows]) == 1
        for mine, other in zip(ours_report[rows], theirs[rows], strict=True):
            assert set(mine) == set(other)
            assert {k: mine[k] for k in TOKEN_KEYS} == {k: other[k] for k in TOKEN_KEYS}
            assert same_cost(mine["costUSD"], other["costUSD"])
            assert mine["models"] == other["models"]
            for field in ("date", "sessionId", "sessionFile", "directory", "lastActivity"):
                assert mine.get(field) == other.get(field), field
        assert same_cost(ours_report["totals"]["costUSD"], theirs["totals"]["costUSD"])

    removed = blueplane("uninstall", "codex", env={**os.environ, "CODEX_HOME": str(run.codex_home)})
    assert "Removed blueplane-hook from 12" in removed.stdout
    left = json.loads((run.codex_home / "hooks.json").read_text())
    assert all(
        owner_of(h["command"]) is None
        for groups in left["hooks"].values()
        for g in groups
        for h in g["hooks"]
    )
    assert set(left["hooks"]) == set(harness.HOOK_EVENTS)  # the recording hooks stay
