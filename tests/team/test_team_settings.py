"""Team settings, identity and the share policy as plain functions, and ``config``'s
``team.*`` keys end to end (the password in team.url is never printed)."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from blueplane_pipeline.core import config
from blueplane_pipeline.team import identity, settings
from blueplane_pipeline.team.settings import SettingError, TeamSettings, mask_url, parse_share
from blueplane_pipeline.team.share import Policy


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_share_lists():
    assert parse_share("usage, tools") == ("usage", "tools")
    assert parse_share("tools,usage") == ("usage", "tools")  # canonical order
    assert parse_share("all") == settings.SHARE_ITEMS and parse_share("none") == ()
    with pytest.raises(SettingError, match="unknown item 'prompts'"):
        parse_share("usage,prompts")


@pytest.mark.parametrize("url,shown", [
    ("postgresql://u:hunter2@db:5432/team", "postgresql://u:***@db:5432/team"),
    ("postgresql://u@db/team?password=hunter2&sslmode=require",
     "postgresql://u@db/team?password=***&sslmode=require"),
    ("postgresql://db/team", "postgresql://db/team"),
    ("postgresql://u:p%40ss@db/team", "postgresql://u:***@db/team"),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_urls_for_libpq_and_for_sqlalchemy():
    assert settings.libpq_url("postgresql+psycopg2://h/db") == "postgresql://h/db"
    assert settings.sqlalchemy_url("postgres://h/db") == "postgresql+psycopg2://h/db"
    for bad in ("mysql://h/db", "http://h", "postgresql://u:p@[bad/db", ""):
        with pytest.raises(SettingError):
            settings.check_url(bad)


def test_hashes_are_keyed_and_kept_apart_by_kind():
    h = identity.keyed_hash
    assert h("salt-1", "project", "app") == h("salt-1", "project", "app")
    assert h("salt-1", "project", "app") != h("salt-2", "project", "app")
    assert h("salt-1", "project", "app") != h("salt-1", "developer", "app")
    assert identity.developer_id("", "salt-1", "me") == "dev-" + h("salt-1", "developer", "me",
                                                                   12)
    assert identity.developer_id("Ada", "salt-1", "me") == "Ada"


def test_projects_sessions_and_mcp_tools_as_the_policy_says():
    policy = Policy(TeamSettings(project_alias={"app": "frontend"}), "salt-1")
    assert policy.project("app") == "frontend"
    other = policy.project("billing")
    assert other.startswith("p-") and "billing" not in other
    assert policy.project("billing") == Policy(TeamSettings(), "salt-1").project("billing")
    assert policy.project("") == ""
    assert policy.project(None, "-home-me-x").startswith("p-")
    assert policy.session("abc").startswith("s-") and "abc" not in policy.session("abc")
    assert policy.tool("Edit", None) == "Edit"
    hidden = policy.tool("mcp__acme__deploy", "acme")
    assert hidden.startswith("mcp__") and "acme" not in hidden and "deploy" not in hidden
    shown = Policy(TeamSettings(share=("usage", "mcp_names")), "salt-1")
    assert shown.tool("mcp__acme__deploy", "acme") == "mcp__acme__deploy"
    assert shown.project("app") == ""  # projects not shared: no label at all


def test_device_id_is_stable_and_created_once(tmp_path):
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(identity.device_id(tmp_path)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1 and identity.device_id(tmp_path) == ids[0]
    assert list((tmp_path / "team").iterdir()) == [tmp_path / "team" / "device_id"]


def test_team_keys_through_config(bp_home):
    url = "postgresql://ada:hunter2-secret@db.example:5432/team"
    result = run("config", "set", "team.url", url)
    assert result.exit_code == 0 and "hunter2-secret" not in result.output
    assert run("config", "set", "team.share", "tools,usage").exit_code == 0
    assert run("config", "set", "team.project_alias.my.app", "Front end").exit_code == 0
    assert run("config", "set", "team.salt", "a-team-salt").exit_code == 0
    loaded = settings.load()
    assert loaded.url == url and loaded.share == ("usage", "tools")
    assert loaded.project_alias == {"my.app": "Front end"} and loaded.salt == "a-team-salt"
    listed = {r["setting"]: r for r in json.loads(run("config", "list", "--json").output)}
    assert listed["team.url"]["value"] == "postgresql://ada:***@db.example:5432/team"
    assert listed["team.salt"]["value"] == "(set)"
    assert listed["team.project_alias.my.app"]["value"] == "Front end"
    for args in (("config", "list"), ("config", "get", "team.url"), ("team", "status")):
        assert "hunter2-secret" not in run(*args).output, args
    assert stat.S_IMODE(os.stat(bp_home / "config.toml").st_mode) == 0o600
    # the hook's settings are untouched by the [team] table
    assert config.load_settings().as_dict() == {**config.DEFAULTS}
    assert run("config", "unset", "team.project_alias.my.app").exit_code == 0
    assert settings.load().project_alias == {}
    for args, message in ((("team.url", "mysql://x"), "team.url must look like"),
                          (("team.share", "usage,prompts"), "unknown item 'prompts'"),
                          (("team.developer", "x" * 80), "team.developer: 1-64"),
                          (("team.salt", "short"), "at least 8"),
                          (("team.colour", "blue"), "unknown setting 'team.colour'")):
        result = run("config", "set", *args)
        assert result.exit_code == 1 and message in result.output, args


def test_a_hand_edited_share_fails_closed(bp_home):
    (bp_home / "config.toml").write_text('[team]\nurl = "postgresql://h/db"\n'
                                         'share = "usage,everything"\n')
    loaded = settings.load()
    assert loaded.share == () and "unknown item 'everything'" in loaded.problem
    result = run("team", "publish")
    assert result.exit_code == 1 and "unknown item 'everything'" in result.output
