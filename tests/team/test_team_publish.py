"""Three laptops with different real transcripts publish to one team Postgres: the team's
daily report equals the sum of the laptops' own ``usage daily`` for every day (tokens
exactly, cost to 1e-9), in UTC and in a zone 5:45 off it; the per-developer, per-project
and per-model reports add up to the laptops' own tables.
"""

from __future__ import annotations

import pytest

from tests._team import (
    assert_same_days,
    laptops,  # noqa: F401 - fixture
    pg_rows,
    sum_daily,
    team_url,  # noqa: F401 - fixture
    three_way_split,
)


@pytest.fixture
def team(team_url, laptops):  # noqa: F811
    parts = three_way_split()
    devs = [laptops("a", parts[0], team_url=team_url, developer="alice"),
            laptops("b", parts[1], team_url=team_url, developer="bob"),
            laptops("c", parts[2], team_url=team_url)]  # default: hash of the OS user
    for laptop in devs:
        laptop.cli("team", "publish")
    return team_url, devs


def test_the_split_gives_three_different_histories(team):
    _url, devs = team
    sessions = [set(r[0] for r in d.rows("SELECT session_id FROM sessions")) for d in devs]
    assert all(sessions) and not (sessions[0] & sessions[1] or sessions[1] & sessions[2]
                                  or sessions[0] & sessions[2])
    assert all(d.rows("SELECT count(*) FROM token_usage")[0][0] > 0 for d in devs)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kathmandu"])
def test_team_daily_equals_the_sum_of_the_laptops(team, tz):
    _url, devs = team
    laptops_daily = [d.json("usage", "daily", "--json", "--timezone", tz) for d in devs]
    team_daily = devs[0].json("team", "report", "daily", "--json", "--timezone", tz)
    assert set(team_daily) == set(laptops_daily[0]) == {"daily", "totals"}
    # the shape of `usage daily --json`, field for field
    for ours in team_daily["daily"]:
        assert set(ours) == set(laptops_daily[0]["daily"][0])
    assert_same_days(sum_daily([team_daily]), sum_daily(laptops_daily))
    keys = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
            "totalTokens")
    for k in keys:
        assert team_daily["totals"][k] == sum(r["totals"][k] for r in laptops_daily)
    assert abs(team_daily["totals"]["totalCost"]
               - sum(r["totals"]["totalCost"] for r in laptops_daily)) <= 1e-9
    # and every laptop's day is in there: the fixtures' own totals (ccusage 20.0.24's)
    assert team_daily["totals"]["inputTokens"] == 1711
    assert team_daily["totals"]["cacheReadTokens"] == 10_428_883


def test_developers_projects_and_models_add_up_to_the_laptops(team):
    _url, devs = team
    report = devs[1].json("team", "report", "developers", "--json")
    by_dev = {r["developer"]: r for r in report["developers"]}
    assert set(by_dev) >= {"alice", "bob"} and len(by_dev) == 3
    hashed = next(name for name in by_dev if name not in ("alice", "bob"))
    assert hashed.startswith("dev-") and len(hashed) == 16
    for name, laptop in zip(["alice", "bob", hashed], devs, strict=True):
        sessions, prompts, calls, accepted, rejected = laptop.rows(
            "SELECT count(*), sum(prompts), sum(tool_calls), sum(edits_accepted),"
            " sum(edits_rejected) FROM sessions")[0]
        cost, tokens = laptop.rows("SELECT sum(cost_usd), sum(total_tokens) FROM token_usage")[0]
        row = by_dev[name]
        assert (row["sessions"], row["prompts"], row["tool_calls"]) == (sessions, prompts, calls)
        assert row["devices"] == 1 and row["total_tokens"] == tokens
        assert abs(row["cost_usd"] - cost) <= 1e-9
        expected = round(accepted / (accepted + rejected), 6) if accepted + rejected else None
        assert row["acceptance_rate"] == expected
    total = report["totals"]
    assert total["sessions"] == sum(d.rows("SELECT count(*) FROM sessions")[0][0] for d in devs)

    models = devs[2].json("team", "report", "models", "--json")
    local: dict[str, int] = {}
    for laptop in devs:
        for model, tokens in laptop.rows("SELECT model, sum(total_tokens) FROM token_usage"
                                         " GROUP BY 1"):
            local[model] = local.get(model, 0) + tokens
    assert {r["model"]: r["total_tokens"] for r in models["models"]} == local

    projects = devs[0].json("team", "report", "projects", "--json")
    labels = [r["project"] for r in projects["projects"]]
    assert all(label == "" or label.startswith("p-") for label in labels)
    assert sum(r["sessions"] for r in projects["projects"]) == total["sessions"]


def test_every_row_names_its_device_and_developer(team):
    url, devs = team
    devices = {r[0]: r[1] for r in pg_rows(url, "SELECT device_id, developer FROM "
                                                 "blueplane.devices")}
    assert len(devices) == 3
    for table in ("session_facts", "usage_facts", "tool_facts"):
        pairs = set(pg_rows(url, f"SELECT device_id, developer FROM blueplane.{table}"))
        assert pairs <= set(devices.items()) and len({d for d, _ in pairs}) == 3, table
    for laptop in devs:
        status = laptop.json("team", "status", "--json")
        assert status["device_id"] in devices


def test_filters_pick_one_developer_and_a_date_range(team):
    _url, devs = team
    alice = devs[0].json("team", "report", "daily", "--json", "-z", "UTC",
                         "--developer", "alice")
    own = devs[0].json("usage", "daily", "--json", "-z", "UTC")
    assert_same_days(sum_daily([alice]), sum_daily([own]))
    days = sorted(d["date"] for d in own["daily"])
    if len(days) > 1:
        since = devs[0].json("team", "report", "daily", "--json", "-z", "UTC",
                             "--developer", "alice", "--since", days[1])
        assert [d["date"] for d in since["daily"]] == days[1:]
