"""``blueplane install|uninstall codex|gemini``: the files they change, the shapes they write,
and that other tools' hooks and settings stay as they were."""

from __future__ import annotations

import json

from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.capture.installers import owner_of
from blueplane_pipeline.sources.codex.hooks import EVENTS as CODEX_EVENTS
from blueplane_pipeline.sources.gemini.hooks import EVENTS as GEMINI_EVENTS

OTHER = {"type": "command", "command": "/usr/bin/other-tool --log", "timeout": 5}


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_codex_hooks_go_to_codex_home_beside_other_hooks(bp_home, tmp_path, monkeypatch):
    home = tmp_path / "codex"
    home.mkdir()
    monkeypatch.setenv("CODEX_HOME", str(home))
    (home / "hooks.json").write_text(json.dumps({"hooks": {"Stop": [{"hooks": [OTHER]}]}}))
    dry = run("install", "codex", "--dry-run")
    assert "+++" in dry and json.loads((home / "hooks.json").read_text())["hooks"].keys() == {
        "Stop"
    }
    out = run("install", "codex")
    assert "Registered blueplane-hook for 12 Codex CLI events" in out
    doc = json.loads((home / "hooks.json").read_text())
    assert list(doc["hooks"]) == ["Stop", *[e for e in CODEX_EVENTS if e != "Stop"]]
    assert doc["hooks"]["Stop"][0] == {"hooks": [OTHER]}  # kept, first
    for event in CODEX_EVENTS:
        group = doc["hooks"][event][-1]
        assert "matcher" not in group
        (hook,) = group["hooks"]
        assert owner_of(hook["command"]) == "codex"
        assert hook["timeout"] == (3 if event in ("SessionEnd", "Interrupt") else 10)
    assert "Nothing to do" in run("install", "codex")  # idempotent
    assert list(home.glob("hooks.json.*"))  # the previous file kept
    run("uninstall", "codex")
    assert json.loads((home / "hooks.json").read_text()) == {
        "hooks": {"Stop": [{"hooks": [OTHER]}]}
    }


def test_gemini_hooks_merge_into_settings_json(bp_home, tmp_path, monkeypatch):
    home = tmp_path / "g"
    (home / ".gemini").mkdir(parents=True)
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "hooks": {"AfterTool": [{"matcher": "*", "hooks": [OTHER]}]},
    }
    path = home / ".gemini" / "settings.json"
    path.write_text(json.dumps(settings))
    assert "Registered blueplane-hook for 7 Gemini CLI events" in run("install", "gemini")
    doc = json.loads(path.read_text())
    assert doc["security"] == settings["security"]
    assert doc["hooks"]["AfterTool"][0] == settings["hooks"]["AfterTool"][0]
    for event in GEMINI_EVENTS:
        group = doc["hooks"][event][-1]
        assert group["matcher"] == "*" and group["hooks"][0]["timeout"] == 10_000  # ms
        assert owner_of(group["hooks"][0]["command"]) == "gemini"
    run("uninstall", "gemini")
    assert json.loads(path.read_text()) == settings
