"""Bad input on the team commands: one clear line, exit 1, nothing lost, no password."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from blueplane_cli.main import cli
from tests._team import (
    PROJECTS,
    laptops,  # noqa: F401 - fixture
    pg_rows,
    team_url,  # noqa: F401 - fixture
)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_no_team_url(bp_home):
    for args in (("team", "publish"), ("team", "report", "daily"), ("team", "up")):
        assert "team.url is not set" in one_error_line(run(*args))


def test_server_down_unknown_database_and_role(laptops, team_url):  # noqa: F811
    laptop = laptops("err", PROJECTS[:2])
    base = team_url.rsplit("/", 1)[0]
    cases = {
        f"postgresql://ada:hunter2-secret@127.0.0.1:{_closed_port()}/x": "Connection refused",
        base + "/no_such_database_here": 'database "no_such_database_here" does not exist',
        "postgresql://no_such_role:hunter2-secret@127.0.0.1:5432/postgres": "no_such_role",
    }
    for url, expected in cases.items():
        laptop.cli("config", "set", "team.url", url)
        for args in (("team", "publish"), ("team", "report", "developers")):
            line = one_error_line(laptop.cli(*args, ok=False))
            assert expected in line and "hunter2-secret" not in line, line
        assert not (laptop.home / "team" / "publish_state.db").exists()  # nothing recorded
    # then the right URL: everything goes, nothing was lost
    laptop.cli("config", "set", "team.url", team_url)
    line = one_error_line(laptop.cli("team", "report", "daily", ok=False))
    assert "has no Blueplane tables yet" in line
    out = laptop.json("team", "publish", "--json")
    sessions = laptop.rows("SELECT count(*) FROM sessions")[0][0]
    assert out["kinds"]["sessions"]["upserted"] == sessions
    assert pg_rows(team_url, "SELECT count(*) FROM blueplane.session_facts") == [(sessions,)]


def test_bad_dates_and_timezones(laptops, team_url):  # noqa: F811
    laptop = laptops("dates", PROJECTS[:1], team_url=team_url)
    laptop.cli("team", "publish")
    assert "unknown timezone" in one_error_line(
        laptop.cli("team", "report", "daily", "-z", "Mars/Olympus", ok=False))
    assert "is not a date" in one_error_line(
        laptop.cli("team", "report", "models", "--since", "yesterday", ok=False))
