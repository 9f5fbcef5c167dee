"""Codex history through the real pipeline: rollouts imported into the embedded Redis
stream, ingested into SQLite, ``token_usage`` and the analytics tables refreshed.

Inputs: the rollouts the real Codex CLI 0.171.0 wrote (``fixtures/codex/codex_home``: exec
+ exec resume; ``extras/``: a command finished in a later poll, a refused command, an
auto-compaction with duplicated ``token_count``s, an interrupted turn, a fork) and the built
ones (a legacy rollout with cumulative totals only, an archived one, a resumed thread
whose new file replays its parent). Expected answers: the stand-in's usage per response,
ccusage 20.0.24's ``codex daily|session|monthly --json`` over the same files, and the
rules in ``sources/codex/rollouts.py`` for tool outcomes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.core import config
from blueplane_pipeline.sources.run import run_import
from blueplane_pipeline.storage.db import open_db
from tests._telemetry_db import refresh_tables

FIX = Path(__file__).parents[1] / "fixtures" / "codex"
UTC = ZoneInfo("UTC")
TOKEN_KEYS = (
    "inputTokens",
    "cacheReadTokens",
    "cacheCreationTokens",
    "outputTokens",
    "reasoningOutputTokens",
    "totalTokens",
)


def ccusage(folder: Path, report: str) -> dict:
    return json.loads((folder / f"ccusage-20.0.24-codex-{report}.json").read_text())


def usage_json(*args: str) -> dict:
    result = CliRunner().invoke(
        cli, ["usage", *args, "--agent", "codex", "--json", "--timezone", "UTC"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def same_cost(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= 1e-6 * abs(theirs) + 1e-12


def import_homes(*homes: Path) -> object:
    result = run_import("codex", list(homes), db_path=config.db_path())
    refresh_tables(config.db_path())
    return result


def assert_entry(ours: dict, theirs: dict, label: str) -> None:
    for key in TOKEN_KEYS:
        assert ours[key] == theirs[key], (label, key)
    assert same_cost(ours["costUSD"], theirs["costUSD"]), label
    assert set(ours["models"]) == set(theirs["models"]), label
    for name, model in theirs["models"].items():
        assert ours["models"][name] == model, (label, name)


@pytest.mark.parametrize("folder", [FIX, FIX / "extras"], ids=["main", "extras"])
def test_recorded_rollouts_equal_the_standin_and_ccusage(redis_home, folder):
    import_homes(folder / "codex_home")
    for report in ("daily", "monthly", "session"):
        ours, theirs = usage_json(report), ccusage(folder, report)
        key = "sessions" if report == "session" else report
        assert len(ours[key]) == len(theirs[key]), report
        for mine, other in zip(ours[key], theirs[key], strict=True):
            label = other.get("date") or other.get("month") or other.get("sessionId")
            assert {k: mine[k] for k in other if k not in TOKEN_KEYS + ("costUSD", "models")} == {
                k: other[k] for k in other if k not in TOKEN_KEYS + ("costUSD", "models")
            }
            assert_entry(mine, other, label)
        assert_entry({**ours["totals"], "models": {}}, {**theirs["totals"], "models": {}}, "totals")
    # the stand-in's own numbers, in ccusage's convention
    served = [r["usage"] for r in json.loads((folder / "standin_usage.json").read_text())]
    totals = usage_json("daily")["totals"]
    inp = sum(r["input_tokens"] for r in served)
    cached = sum(r["cached_tokens"] for r in served)
    assert totals["inputTokens"] == inp - cached
    assert totals["cacheReadTokens"] == cached
    assert totals["outputTokens"] == sum(r["output_tokens"] for r in served)
    assert totals["reasoningOutputTokens"] == sum(r["reasoning_tokens"] for r in served)
    assert totals["totalTokens"] == sum(r["total_tokens"] for r in served)


def test_built_histories_count_each_response_once(redis_home):
    """Legacy cumulative-only totals, an archived rollout and a resumed thread. ccusage
    counts the responses the resumed file replays from its parent a second time; we count
    the truth (every response once) and equal ccusage on every other file."""
    built = FIX / "built"
    import_homes(built / "codex_home")
    truth = json.loads((built / "expected_usage.json").read_text())
    ours = {s["sessionId"]: s for s in usage_json("session")["sessions"]}
    theirs = {s["sessionId"]: s for s in ccusage(built, "session")["sessions"]}
    assert set(ours) == set(theirs)
    for rel, spec in truth["files"].items():
        if "responses" not in spec:
            continue  # the half-written file is not under a CODEX_HOME
        stem = rel.removesuffix(".jsonl")
        sid = (
            stem.removeprefix("sessions/")
            if stem.startswith("sessions/")
            else stem.rsplit("/", 1)[-1]
        )
        responses = spec["responses"]
        mine = ours[sid]
        assert mine["totalTokens"] == sum(r["total_tokens"] for r in responses), sid
        assert mine["cacheReadTokens"] == sum(r["cached_input_tokens"] for r in responses)
        assert mine["reasoningOutputTokens"] == sum(r["reasoning_output_tokens"] for r in responses)
        if "_" not in sid.rsplit("/", 1)[-1]:  # every file but the resumed copy
            assert_entry(mine, theirs[sid], sid)
    resumed = next(s for s in ours if "_" in s.rsplit("/", 1)[-1])
    assert theirs[resumed]["totalTokens"] - ours[resumed]["totalTokens"] == 15050


def tool_calls(conn) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT tool_use_id, tool_name, status, lines_added, lines_removed, platform,"
            " is_edit FROM tool_calls"
        )
    }


def test_tool_calls_once_each_with_the_exit_code_as_outcome(redis_home):
    import_homes(FIX / "codex_home", FIX / "extras" / "codex_home", FIX / "built" / "codex_home")
    conn = open_db(config.db_path())
    try:
        calls = tool_calls(conn)
        sessions = conn.execute("SELECT platform, count(*) FROM sessions GROUP BY 1").fetchall()
    finally:
        conn.close()
    # one per thread: MAIN, extras and its fork, legacy, archived, the resumed thread
    assert sessions == [("codex", 6)]
    assert calls["call_e2e_ok"][:2] == ("Bash", "success")
    assert calls["call_e2e_fail"][:2] == ("Bash", "error")  # exit 2, a "success" to Codex
    assert calls["call_e2e_resume"][:2] == ("Bash", "success")
    # apply_patch: an edit, with the lines of the files it changed (+3 new file, +2 -1
    # update, -1 deleted file's line)
    assert calls["call_e2e_patch"] == ("apply_patch", "success", 5, 2, "codex", 1)
    assert calls["call_e2e_badpatch"][:4] == ("apply_patch", "error", 0, 0)
    assert calls["call_x_slow"][:2] == ("Bash", "error")  # exit 3, learned in a later poll
    assert calls["call_x_refused"][:2] == ("Bash", "rejected")
    assert calls["call_x_interrupted"][:2] == ("Bash", "interrupted")
    assert calls["call_legacy_fail"][:2] == ("Bash", "error")  # legacy JSON exit_code 2
    assert calls["call_legacy_ok"][:2] == ("Bash", "success")
    assert not any(k.startswith("call_x_poll") for k in calls)  # a poll is not a call


def test_reimport_reads_nothing_and_a_grown_rollout_only_its_tail(redis_home, tmp_path):
    """Offsets: an unchanged re-run opens no file; a half-written last line waits for the
    next run; lines appended later keep the model the earlier lines named."""
    home = tmp_path / "codex_home"
    src = next((FIX / "codex_home" / "sessions").rglob("rollout-*.jsonl"))
    dest = home / "sessions" / src.relative_to(FIX / "codex_home" / "sessions")
    dest.parent.mkdir(parents=True)
    lines = src.read_bytes().splitlines(keepends=True)
    cut = 40  # inside turn 2 (the resume): its turn_context is line 38
    dest.write_bytes(b"".join(lines[:cut]) + lines[cut][:25])
    first = import_homes(home)
    assert first.imported.pending_tail_bytes == 25
    again = import_homes(home)
    assert again.imported.files_unchanged == 1 and again.imported.events == 0
    with dest.open("ab") as fh:
        fh.write(lines[cut][25:] + b"".join(lines[cut + 1 :]))
    third = import_homes(home)
    assert third.imported.events == len(lines) - cut
    totals = usage_json("daily")["totals"]
    expected = ccusage(FIX, "daily")["totals"]
    assert {k: totals[k] for k in TOKEN_KEYS} == {k: expected[k] for k in TOKEN_KEYS}
    assert list(usage_json("daily")["daily"][0]["models"]) == ["gpt-5.5"]


def test_strict_privacy_keeps_usage_and_outcomes(redis_home, monkeypatch):
    monkeypatch.setenv("BLUEPLANE_PRIVACY_MODE", "strict")
    import_homes(FIX / "codex_home")
    totals = usage_json("daily")["totals"]
    assert totals["totalTokens"] == ccusage(FIX, "daily")["totals"]["totalTokens"]
    conn = open_db(config.db_path())
    try:
        calls = tool_calls(conn)
        texts = conn.execute("SELECT count(*) FROM raw_events_view").fetchone()[0]
    finally:
        conn.close()
    assert texts > 0
    assert calls["call_e2e_fail"][:2] == ("Bash", "error")
    assert calls["call_e2e_patch"][2:4] == (5, 2)


def test_usage_without_agent_breaks_down_by_assistant(redis_home, tmp_path):
    from tests.conftest import CLAUDE_HOME

    import_homes(FIX / "codex_home")
    run_import("claude_code", [CLAUDE_HOME], db_path=config.db_path())
    refresh_tables(config.db_path())
    result = CliRunner().invoke(cli, ["usage", "monthly", "--json", "--timezone", "UTC"])
    report = json.loads(result.stdout)
    agents = {a["agent"]: a for a in report["totals"]["agentBreakdowns"]}
    assert set(agents) == {"claude_code", "codex"}
    assert agents["codex"]["totalTokens"] == ccusage(FIX, "daily")["totals"]["totalTokens"]
    assert sum(a["totalTokens"] for a in agents.values()) == report["totals"]["totalTokens"]
    assert same_cost(sum(a["totalCost"] for a in agents.values()), report["totals"]["totalCost"])
    only_codex = usage_json("monthly")["totals"]["totalTokens"]
    assert only_codex == agents["codex"]["totalTokens"]
    # every reader's platform filter sees Codex's tokens and cost (via its sessions)
    metrics = json.loads(
        CliRunner()
        .invoke(cli, ["metrics", "--period", "all", "--platform", "codex", "--json"])
        .stdout
    )
    assert metrics["metrics"]["total_tokens"] == only_codex
    assert same_cost(metrics["metrics"]["cost_usd"], usage_json("monthly")["totals"]["costUSD"])
    shutil.rmtree(tmp_path, ignore_errors=True)


TIER_CASES = [
    # (service_tier of the two thread_settings_applied lines, config.toml's, ccusage 20.0.24
    # costUSD over exactly this file: measured with `ccusage codex daily --json --offline`)
    (("fast", None), None, 0.12403),  # recorded fast: the whole thread (x2.5 for gpt-5.5)
    (("fast", "default"), None, 0.110536),  # turn 1 fast, turn 2 standard
    (("priority", "priority"), None, 0.12403),
    ((None, None), "fast", 0.12403),  # nothing recorded: config.toml decides
    (("default", "default"), "fast", 0.049612),  # recorded standard wins over config
    (("flex", "flex"), "fast", 0.12403),  # flex is not a recorded tier
    (("flex", "flex"), None, 0.049612),
]


@pytest.mark.parametrize(("tiers", "config_tier", "ccusage_cost"), TIER_CASES)
def test_codex_service_tier_bills_fast_like_ccusage(
    redis_home, tmp_path, tiers, config_tier, ccusage_cost
):
    src = next((FIX / "codex_home" / "sessions").rglob("rollout-*.jsonl"))
    home = tmp_path / "codex_home"
    dest = home / "sessions" / src.relative_to(FIX / "codex_home" / "sessions")
    dest.parent.mkdir(parents=True)
    out, n = [], 0
    for raw in src.read_text().splitlines():
        line = json.loads(raw)
        payload = line.get("payload", {})
        if line["type"] == "event_msg" and payload.get("type") == "thread_settings_applied":
            if tiers[n] is not None:
                payload["thread_settings"]["service_tier"] = tiers[n]
            n += 1
        out.append(json.dumps(line, separators=(",", ":")))
    dest.write_text("\n".join(out) + "\n")
    if config_tier:
        (home / "config.toml").write_text(f'service_tier = "{config_tier}"\n')
    import_homes(home)
    report = usage_json("daily")
    assert same_cost(report["totals"]["costUSD"], ccusage_cost)
    assert list(report["daily"][0]["models"]) == ["gpt-5.5"]  # no "-fast" in codex's shape


def test_a_rollout_naming_no_model_is_priced_as_gpt5_like_ccusage(redis_home, tmp_path):
    """No ``turn_context`` (and no model anywhere): ccusage 20.0.24 prices it as gpt-5 and
    says ``isFallback: true``; over exactly this file it printed costUSD 0.013953."""
    src = next((FIX / "codex_home" / "sessions").rglob("rollout-*.jsonl"))
    home = tmp_path / "codex_home"
    dest = home / "sessions" / src.relative_to(FIX / "codex_home" / "sessions")
    dest.parent.mkdir(parents=True)
    lines = [
        raw.replace('"model":"gpt-5.5"', '"model":null')
        for raw in src.read_text().splitlines()
        if '"type":"turn_context"' not in raw
    ]
    dest.write_text("\n".join(lines) + "\n")
    import_homes(home)
    report = usage_json("daily")
    assert same_cost(report["totals"]["costUSD"], 0.013953)
    (model,) = report["daily"][0]["models"].items()
    assert model[0] == "gpt-5" and model[1]["isFallback"] is True
    assert model[1]["totalTokens"] == 22720
