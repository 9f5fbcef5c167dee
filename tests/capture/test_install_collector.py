"""`blueplane install claude-code --transport http` and `--otel`: what they write, that
uninstall removes exactly that, and that `status` warns while the collector is down."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.capture import installers as ins
from blueplane_pipeline.sources.claude_code.hooks import EVENTS

THEIRS = {
    "env": {"FOO": "bar", "CLAUDE_CODE_ENABLE_TELEMETRY": "1"},
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "other-tool --check"}]}
        ]
    },
}


@pytest.fixture
def claude_dir(tmp_path, monkeypatch, bp_home):
    path = tmp_path / "claude-config"
    path.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(path))
    monkeypatch.setenv("HOME", str(tmp_path))
    (path / "settings.json").write_text(json.dumps(THEIRS, indent=2) + "\n")
    return path


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def settings(claude_dir) -> dict:
    return json.loads((claude_dir / "settings.json").read_text())


def test_transport_http_registers_every_event_but_session_start(claude_dir):
    before = (claude_dir / "settings.json").read_text()
    result = run("install", "claude-code", "--transport", "http")
    assert result.exit_code == 0, result.output
    doc = settings(claude_dir)
    for event in EVENTS:
        ours = [h for g in doc["hooks"][event] for h in g["hooks"] if ins.is_ours(h)]
        assert len(ours) == 1, event
        if event == "SessionStart":
            assert ours[0]["type"] == "command"
        else:
            assert ours[0] == {
                "type": "http",
                "url": "http://127.0.0.1:4318/hook/claude-code",
                "timeout": ins.HTTP_TIMEOUT_S,
            }
    assert ins.http_events(doc) == [e for e in doc["hooks"] if e != "SessionStart"]
    assert doc["hooks"]["PreToolUse"][0] == THEIRS["hooks"]["PreToolUse"][0]
    # Idempotent, and switching back to command hooks replaces ours in place.
    assert "Nothing to do" in run("install", "claude-code", "--transport", "http").output
    run("install", "claude-code")
    assert ins.http_events(settings(claude_dir)) == []
    run("uninstall", "claude-code")
    assert settings(claude_dir) == json.loads(before)


def test_otel_env_is_added_and_uninstall_removes_exactly_it(claude_dir, monkeypatch):
    monkeypatch.setenv("BLUEPLANE_COLLECTOR_TOKEN", "tok")
    result = run("install", "claude-code", "--otel", "--otel-protocol", "http/protobuf", "--json")
    assert result.exit_code == 0, result.output
    env = settings(claude_dir)["env"]
    assert env["FOO"] == "bar"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "delta"
    assert env["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Bearer tok"
    # The variable the user had set already (to the same value) is not ours to remove.
    assert "CLAUDE_CODE_ENABLE_TELEMETRY" not in env[ins.ENV_MARKER].split(",")
    run("uninstall", "claude-code")
    assert settings(claude_dir) == THEIRS


def test_otel_refuses_to_overwrite_another_endpoint(claude_dir):
    doc = {**THEIRS, "env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.corp:4318"}}
    (claude_dir / "settings.json").write_text(json.dumps(doc))
    result = run("install", "claude-code", "--otel")
    assert result.exit_code != 0
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in result.output and "collector.corp" in result.output
    assert settings(claude_dir) == doc


def test_otel_with_project_says_the_cli_ignores_project_env(claude_dir, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    result = CliRunner().invoke(
        cli, ["install", "claude-code", "--otel", "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert "ignored a project settings file" in result.output
    assert (
        "OTEL_EXPORTER_OTLP_ENDPOINT"
        in json.loads((project / ".claude" / "settings.json").read_text())["env"]
    )


def test_status_warns_loudly_when_http_hooks_have_no_collector(claude_dir):
    run("install", "claude-code", "--transport", "http", "--otel")
    info = json.loads(run("status", "--json").output)
    assert info["services"]["collector"]["up"] is False
    text = " ".join(info["warnings"])
    assert "HTTP hooks for 14 Claude Code events" in text and "LOST" in text
    assert "OpenTelemetry export" in text
    run("uninstall", "claude-code")
    assert not any("collector" in w for w in json.loads(run("status", "--json").output)["warnings"])
