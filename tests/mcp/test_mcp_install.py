"""``blueplane install|uninstall mcp``: the project .mcp.json fallback, and the real Claude
Code CLI's ``claude mcp add`` (which then health-checks our server by starting it)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli

CLAUDE_BIN = (Path(__file__).parents[1] / "e2e" / "node_modules" / "@anthropic-ai"
              / "claude-code-linux-x64" / "claude")


@pytest.fixture
def no_claude(monkeypatch, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_project_file_fallback(bp_home, no_claude, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    other = {"type": "stdio", "command": "other-server", "args": ["--x"], "env": {}}
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"other": other}}))
    code, out = run("install", "mcp", "--project", str(project))
    assert code == 0, out
    doc = json.loads((project / ".mcp.json").read_text())
    ours = doc["mcpServers"]["blueplane"]
    assert doc["mcpServers"]["other"] == other
    assert Path(ours["command"]).name == "blueplane-mcp" and Path(ours["command"]).is_file()
    assert ours["env"] == {"BLUEPLANE_HOME": str(bp_home)}
    assert len(list(project.glob(".mcp.json.blueplane-backup-*"))) == 1
    snippet = json.loads(out[out.index("{"):])
    assert snippet["mcpServers"]["blueplane"]["command"] == ours["command"]
    code, out = run("install", "mcp", "--project", str(project))
    assert code == 0 and out.startswith("Nothing to do: blueplane is already registered")
    code, out = run("uninstall", "mcp", "--project", str(project), "--json")
    assert code == 0 and json.loads(out)["changed"] is True
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"] == {"other": other}


def test_bad_project_file_is_left_alone(bp_home, no_claude, tmp_path):
    (tmp_path / ".mcp.json").write_text("{not json")
    code, out = run("install", "mcp", "--project", str(tmp_path))
    assert code == 1 and "is not valid JSON" in out and "Traceback" not in out
    assert (tmp_path / ".mcp.json").read_text() == "{not json"


@pytest.mark.slow
def test_real_claude_cli_registers_and_connects(bp_home, tmp_path, monkeypatch):
    if not CLAUDE_BIN.is_file():
        pytest.skip("the Claude Code CLI is not installed (tests/e2e installs it with npm ci)")
    home, bindir = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    bindir.mkdir()
    (bindir / "claude").symlink_to(CLAUDE_BIN)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    code, out = run("install", "mcp")
    assert code == 0, out
    assert "Registered the blueplane MCP server in Claude Code (user scope" in out
    listed = subprocess.run([str(bindir / "claude"), "mcp", "list"], capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith("blueplane:"))
    assert "Connected" in line, listed.stdout + listed.stderr
    stored = json.loads((home / ".claude.json").read_text())["mcpServers"]["blueplane"]
    assert stored["env"] == {"BLUEPLANE_HOME": str(bp_home)}
    assert run("install", "mcp")[1].startswith("Nothing to do")
    code, out = run("uninstall", "mcp")
    assert code == 0 and "Removed the blueplane MCP server" in out
    assert "blueplane" not in json.loads((home / ".claude.json").read_text())["mcpServers"]
