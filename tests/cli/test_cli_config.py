"""``blueplane config``: list/get/set through config.toml, validated, read back by the
same ``load_settings`` the hook uses."""

from __future__ import annotations

import json

from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.core.config import load_settings


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_set_then_get_and_list(bp_home):
    assert run("config", "get", "privacy_mode").output.strip() == "standard"
    result = run("config", "set", "privacy_mode", "strict")
    assert result.exit_code == 0 and "privacy_mode = strict" in result.output
    assert load_settings().privacy_mode == "strict"
    assert run("config", "get", "privacy_mode").output.strip() == "strict"
    assert run("config", "set", "datasette_port", "8123").exit_code == 0
    listed = {r["setting"]: r for r in json.loads(run("config", "list", "--json").output)}
    assert listed["privacy_mode"]["value"] == "strict"
    assert listed["privacy_mode"]["source"] == "config.toml"
    assert listed["datasette_port"]["value"] == 8123
    assert listed["dagster_port"]["source"] == "default"
    assert "privacy_mode = \"strict\"" in (bp_home / "config.toml").read_text()


def test_environment_override_is_shown(bp_home, monkeypatch):
    monkeypatch.setenv("BLUEPLANE_PRIVACY_MODE", "full")
    result = run("config", "set", "privacy_mode", "strict")
    assert "BLUEPLANE_PRIVACY_MODE is set" in result.output
    listed = {r["setting"]: r for r in json.loads(run("config", "list", "--json").output)}
    assert listed["privacy_mode"] == {**listed["privacy_mode"], "value": "full",
                                      "source": "BLUEPLANE_PRIVACY_MODE"}


def test_invalid_values_are_refused(bp_home):
    for args, message in (
        (("privacy_mode", "loose"), "privacy_mode must be one of standard, strict, full"),
        (("host", "0.0.0.0"), "host must be a loopback address"),
        (("dagster_port", "http"), "dagster_port must be a port number"),
        (("colour", "blue"), "unknown setting 'colour'"),
    ):
        result = run("config", "set", *args)
        assert result.exit_code == 1, args
        assert result.output.startswith("Error: ") and message in result.output
    assert not (bp_home / "config.toml").exists()
    assert run("config", "get", "colour").exit_code == 1
