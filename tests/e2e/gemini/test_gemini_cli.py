"""The real Gemini CLI 0.61.0 against the scripted Gemini API stand-in, then imported.

Two turns (``gemini -p`` and ``gemini --resume latest -p``: a shell command that fails,
one that succeeds, a ``write_file``, a resumed shell command), with ``blueplane install
gemini`` beside the harness's recording hooks: every hook event we register arrives as
often as Gemini fired it. After ``blueplane import gemini`` the imported tokens equal the
stand-in's usage response for response, the messages Gemini wrote twice count once,
ccusage 20.0.24 agrees on the same files, and each tool call is there once (hook and
session merged) with the outcome its exit code says.
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

from blueplane_pipeline.core import config
from blueplane_pipeline.storage.db import open_db

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
TOKEN_KEYS = (
    "inputTokens",
    "outputTokens",
    "cacheCreationTokens",
    "cacheReadTokens",
    "totalTokens",
)


def _harness():
    key = "blueplane_e2e_gemini_harness_main"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / "harness.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="module")
def gemini_cli():
    harness = _harness()
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the real Gemini CLI cannot run")
    try:
        return harness.ensure_cli()
    except harness.CliUnavailable as exc:
        pytest.fail(f"the real Gemini CLI is unavailable: {exc}")


def blueplane(*args: str, env: dict | None = None) -> str:
    exe = Path(sys.executable).with_name("blueplane")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def ccusage(gemini_dir: Path, report: str, home: Path) -> dict:
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
        "GEMINI_DATA_DIR": str(gemini_dir),
        "TZ": "UTC",
    }
    out = subprocess.run(
        [*cmd, "gemini", report, "--json", "--offline", "--timezone", "UTC"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if out.returncode != 0:
        pytest.fail(f"ccusage failed: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def test_gemini_live_and_imported_equal_the_standin(gemini_cli, redis_home, tmp_path):
    harness = _harness()
    installed: list[str] = []

    def install(home: Path) -> None:
        installed.append(
            blueplane("install", "gemini", env={**os.environ, "GEMINI_CLI_HOME": str(home)})
        )

    run = harness.run_session(gemini_cli, tmp_path, scenario="none", configure=install)
    assert run.ok, [s.stderr[-800:] for s in run.steps]
    assert run.egress == [] and len(run.sessions) == 1
    assert "Registered blueplane-hook for 7 Gemini CLI events" in installed[0]

    # live: every hook event we registered, as often as Gemini fired it (the recorders)
    from blueplane_pipeline.ingest.drain import ingest
    from blueplane_pipeline.sources.gemini.hooks import EVENTS
    from blueplane_pipeline.storage.reader import iter_events

    ingest(config.db_path(), trigger="e2e")
    conn = open_db(config.db_path())
    try:
        ours = Counter(
            ev.envelope["event_type"]
            for ev in iter_events(conn, platform="gemini")
            if ev.envelope["source"] == "hook"
        )
    finally:
        conn.close()
    fired = Counter(
        h["payload"]["hook_event_name"]
        for h in run.hooks()
        if h["payload"]["hook_event_name"] in EVENTS
    )
    assert ours == fired and fired["BeforeTool"] == fired["AfterTool"] == 4

    blueplane("import", "gemini", "--gemini-dir", str(run.gemini_dir))
    from tests._telemetry_db import refresh_tables

    refresh_tables(config.db_path())

    served = [u["usageMetadata"] for u in run.usage]
    conn = open_db(config.db_path())
    try:
        rows = conn.execute(
            "SELECT input_tokens + cache_read_tokens, cache_read_tokens, output_tokens,"
            " total_tokens - input_tokens - output_tokens - cache_read_tokens, total_tokens"
            " FROM token_usage WHERE platform = 'gemini'"
            " ORDER BY ts_ms"
        ).fetchall()
        written = conn.execute(
            "SELECT count(*) FROM raw_events_view WHERE platform ="
            " 'gemini' AND event_type = 'gemini'"
        ).fetchone()[0]
        calls = conn.execute(
            "SELECT tool_name, status, lines_added FROM tool_calls"
            " WHERE platform = 'gemini' ORDER BY started_at"
        ).fetchall()
        sources = {
            r[0] for r in conn.execute("SELECT sources FROM tool_calls WHERE platform = 'gemini'")
        }
    finally:
        conn.close()
    assert rows == [
        (
            u["promptTokenCount"],
            u.get("cachedContentTokenCount", 0),
            u["candidatesTokenCount"],
            u.get("thoughtsTokenCount", 0),
            u["totalTokenCount"],
        )
        for u in served
    ]
    assert written > len(served)  # messages with tool calls are written twice
    assert calls == [
        ("Bash", "error", 0),
        ("Bash", "success", 0),
        ("Write", "success", 3),
        ("Bash", "success", 0),
    ]
    assert sources == {"hook+session"}  # each call seen live and in history: one row

    for report in ("daily", "session"):
        ours = json.loads(
            blueplane("usage", report, "--agent", "gemini", "--json", "--timezone", "UTC")
        )
        theirs = ccusage(run.gemini_dir, report, tmp_path / "home")
        key = "sessions" if report == "session" else "daily"
        assert [{k: r[k] for k in TOKEN_KEYS} for r in ours[key]] == [
            {k: r[k] for k in TOKEN_KEYS} for r in theirs[key]
        ]
        assert (
            abs(ours["totals"]["totalCost"] - theirs["totals"]["totalCost"])
            <= 1e-6 * theirs["totals"]["totalCost"]
        )
