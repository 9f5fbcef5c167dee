"""Installers: the pure merge functions, and ``blueplane install|uninstall`` on real files."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.capture import installers as ins
from blueplane_pipeline.sources.claude_code.hooks import INSTALLER as CLAUDE
from blueplane_pipeline.sources.cursor.hooks import INSTALLER as CURSOR

CMD = "/venv/bin/python -S /venv/lib/blueplane_pipeline/capture/run_hook.py claude-code || true"
CURSOR_CMD = "/venv/bin/python -S /venv/lib/blueplane_pipeline/capture/run_hook.py cursor"

# A settings file as users have them: other keys, and other tools' hooks on events we use.
OTHER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test:*)"], "deny": ["Read(./.env)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]},
            {"matcher": "Edit|Write", "hooks": [
                {"type": "command", "command": "fmt.sh", "timeout": 30}]},
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
        "Setup": [{"hooks": [{"type": "command", "command": "setup.sh"}]}],
    },
    "statusLine": {"type": "command", "command": "status.sh"},
}
OTHER_CURSOR = {
    "version": 1,
    "hooks": {
        "beforeShellExecution": [{"command": "./hooks/audit.sh"}],
        "afterFileEdit": [{"command": "prettier-hook"}],
    },
}


# --- pure merge functions -----------------------------------------------------------------

def test_claude_install_keeps_other_hooks_and_adds_one_group_per_event():
    out = ins.add_grouped_hooks(OTHER_SETTINGS, CLAUDE, CMD)
    assert {k: v for k, v in out.items() if k != "hooks"} == {
        k: v for k, v in OTHER_SETTINGS.items() if k != "hooks"}
    assert out["hooks"]["PreToolUse"][:2] == OTHER_SETTINGS["hooks"]["PreToolUse"]
    assert out["hooks"]["Setup"] == OTHER_SETTINGS["hooks"]["Setup"]
    assert set(ins.installed_events(out)) == set(CLAUDE.events)
    for event in CLAUDE.events:
        ours = out["hooks"][event][-1]
        entry = {"type": "command", "command": CMD, "timeout": CLAUDE.timeout_s}
        if event in CLAUDE.tool_events:
            assert ours == {"matcher": "*", "hooks": [entry]}
        else:
            assert ours == {"hooks": [entry]}
    assert OTHER_SETTINGS["hooks"]["Stop"] == [
        {"hooks": [{"type": "command", "command": "notify-send done"}]}]  # input not mutated


def test_claude_install_twice_equals_once_and_uninstall_restores_exactly():
    once = ins.add_grouped_hooks(OTHER_SETTINGS, CLAUDE, CMD)
    assert ins.add_grouped_hooks(once, CLAUDE, CMD) == once
    assert ins.remove_grouped_hooks(once) == OTHER_SETTINGS
    assert ins.remove_grouped_hooks({}) == {}
    assert ins.remove_grouped_hooks(ins.add_grouped_hooks({}, CLAUDE, CMD)) == {}


def test_claude_reinstall_replaces_an_older_command_instead_of_adding_a_second():
    old = ins.add_grouped_hooks(OTHER_SETTINGS, CLAUDE, "/old/venv/bin/blueplane-hook claude-code")
    new = ins.add_grouped_hooks(old, CLAUDE, CMD)
    assert new == ins.add_grouped_hooks(OTHER_SETTINGS, CLAUDE, CMD)
    assert ins.add_grouped_hooks(new, CLAUDE, CMD, run_async=True)["hooks"]["Stop"][-1]["hooks"][0][
        "async"] is True


def test_claude_uninstall_takes_our_hook_out_of_a_shared_group_only():
    shared = copy.deepcopy(OTHER_SETTINGS)
    shared["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": CMD})
    assert ins.remove_grouped_hooks(shared) == OTHER_SETTINGS


@pytest.mark.parametrize("bad", [[], {"hooks": []}, {"hooks": {"Stop": {"command": "x"}}}])
def test_claude_settings_of_an_unexpected_shape_are_refused(bad):
    with pytest.raises(ins.SettingsError):
        ins.add_grouped_hooks(bad, CLAUDE, CMD)


def test_cursor_install_twice_equals_once_and_uninstall_restores_exactly():
    once = ins.add_flat_hooks(OTHER_CURSOR, CURSOR, CURSOR_CMD)
    assert once["version"] == 1
    assert once["hooks"]["beforeShellExecution"] == [
        {"command": "./hooks/audit.sh"}, {"command": CURSOR_CMD}]
    assert set(ins.installed_events(once)) == set(CURSOR.events)
    assert ins.add_flat_hooks(once, CURSOR, CURSOR_CMD) == once
    assert ins.remove_flat_hooks(once) == OTHER_CURSOR
    assert ins.add_flat_hooks({}, CURSOR, CURSOR_CMD)["version"] == 1


@pytest.mark.parametrize(("command", "owner"), [
    (CMD, "claude-code"),
    (CURSOR_CMD, "cursor"),
    ("/home/u/.venv/bin/blueplane-hook claude-code", "claude-code"),
    ("'/path with space/bin/blueplane-hook' cursor", "cursor"),
    ("python -m blueplane_pipeline.capture.hook claude-code", "claude-code"),
    ("/v/bin/python -S /v/blueplane_pipeline/capture/hook.py cursor", "cursor"),
    ("/v/bin/python -S /v/blueplane_pipeline/capture/run_hooks.py cursor", None),
    ("my-blueplane-hook claude-code", None),
    ("blueplane-hook claude-code-extra", None),
    ("guard.sh", None),
    (None, None),
])
def test_owner_of_recognises_only_our_commands(command, owner):
    assert ins.owner_of(command) == owner


def test_hook_command_runs_this_python_without_site_on_the_launcher():
    from blueplane_pipeline.capture import hook

    launcher = hook.__file__.replace("hook.py", "run_hook.py")
    command = ins.hook_command("claude-code", "/opt/my venv/bin/python")
    assert command == f"'/opt/my venv/bin/python' -S {launcher} claude-code || true"
    assert ins.owner_of(command) == "claude-code"
    assert ins.owner_of(ins.hook_command("cursor")) == "cursor"


def test_a_deleted_venv_still_exits_0_and_cursor_still_gets_its_answer(tmp_path):
    """Python exits 2 when the hook file is gone, and exit 2 makes Claude Code block the
    tool call: the registered command must not pass that on."""
    gone = str(tmp_path / "deleted-venv" / "bin" / "python")
    claude = subprocess.run(["/bin/sh", "-c", ins.hook_command("claude-code", gone)],
                            input=b"{}", capture_output=True)
    assert (claude.returncode, claude.stdout) == (0, b"")
    cursor = subprocess.run(["/bin/sh", "-c", ins.hook_command("cursor", gone)],
                            input=b"{}", capture_output=True)
    assert cursor.returncode == 0
    assert json.loads(cursor.stdout) == {"continue": True, "permission": "allow"}


# --- the CLI on real files ----------------------------------------------------------------

@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def backups(path):
    return sorted(path.parent.glob(path.name + ".blueplane-backup-*"))


def test_install_into_user_settings_round_trips_with_backups(home):
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    original = json.dumps(OTHER_SETTINGS, indent=4)
    path.write_text(original)
    os.chmod(path, 0o600)

    first = invoke("install", "claude-code")
    assert first.exit_code == 0 and "restart" in first.output.lower()
    installed = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [b.read_text() for b in backups(path)] == [original]

    again = invoke("install", "claude-code")
    assert "Nothing to do" in again.output
    assert path.read_text() == installed and len(backups(path)) == 1

    removed = invoke("uninstall", "claude-code")
    assert removed.exit_code == 0
    assert json.loads(path.read_text()) == OTHER_SETTINGS
    assert [b.read_text() for b in backups(path)] == [original, installed]


def test_install_respects_claude_config_dir(home, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / "cfg"))
    assert invoke("install", "claude-code").exit_code == 0
    doc = json.loads((home / "cfg" / "settings.json").read_text())
    assert set(ins.installed_events(doc)) == set(CLAUDE.events)
    assert not (home / ".claude").exists()


def test_project_install_creates_the_file_without_a_backup(home, tmp_path):
    project = tmp_path / "proj"
    result = invoke("install", "claude-code", "--project", str(project), "--json")
    data = json.loads(result.output)
    path = project / ".claude" / "settings.json"
    assert data["path"] == str(path) and data["changed"] and data["backup"] is None
    assert data["events"] == list(CLAUDE.events)
    assert backups(path) == []
    assert ins.owner_of(json.loads(path.read_text())["hooks"]["Stop"][0]["hooks"][0][
        "command"]) == "claude-code"


def test_dry_run_prints_the_diff_and_writes_nothing(home):
    path = home / ".cursor" / "hooks.json"
    path.parent.mkdir()
    path.write_text(json.dumps(OTHER_CURSOR))
    before = path.stat().st_mtime_ns
    result = invoke("install", "cursor", "--dry-run")
    assert result.exit_code == 0
    assert result.output.startswith(f"--- {path}\n+++ {path}\n")
    assert f'+        "command": {json.dumps(ins.hook_command("cursor"))}' in result.output
    assert path.read_text() == json.dumps(OTHER_CURSOR) and path.stat().st_mtime_ns == before
    assert backups(path) == []
    assert not (home / ".claude").exists()


def test_cursor_round_trip_in_a_project(home, tmp_path):
    path = tmp_path / "proj" / ".cursor" / "hooks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(OTHER_CURSOR, indent=2) + "\n")
    assert invoke("install", "cursor", "--project", str(tmp_path / "proj")).exit_code == 0
    doc = json.loads(path.read_text())
    assert doc["hooks"]["afterFileEdit"][0] == {"command": "prettier-hook"}
    assert invoke("uninstall", "cursor", "--project", str(tmp_path / "proj")).exit_code == 0
    assert json.loads(path.read_text()) == OTHER_CURSOR


def test_malformed_settings_give_one_error_line_and_stay_untouched(home):
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text('{"hooks": {"Stop": [}')
    result = CliRunner().invoke(cli, ["install", "claude-code"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "not valid JSON" in lines[0]
    assert path.read_text() == '{"hooks": {"Stop": [}'
    assert backups(path) == []


def test_settings_with_a_wrong_shape_are_refused_cleanly(home):
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text('{"hooks": ["not", "an", "object"]}')
    result = CliRunner().invoke(cli, ["uninstall", "claude-code"])
    assert result.exit_code == 1 and "nothing was changed" in result.output
    assert path.read_text() == '{"hooks": ["not", "an", "object"]}'


def test_uninstall_when_nothing_is_installed_changes_nothing(home):
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(OTHER_SETTINGS))
    result = invoke("uninstall", "claude-code")
    assert "Nothing to do" in result.output
    assert path.read_text() == json.dumps(OTHER_SETTINGS) and backups(path) == []
