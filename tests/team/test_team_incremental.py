"""Publishing is incremental and idempotent against a real Postgres: again, after new
events, after a session grew, after a publish was killed midway, after the laptop lost
its watermarks, after an alias or the share policy changed, after a local purge. In
every case the team's rows equal what the laptop holds now, exactly.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from blueplane_pipeline.team import pg
from tests._team import (
    PROJECTS,
    Laptop,
    laptops,  # noqa: F401 - fixture
    pg_rows,
    team_url,  # noqa: F401 - fixture
)

REPO = Path(__file__).resolve().parents[2]
DEMO = next(p for p in PROJECTS if p.name == "-path-to-Demo")
BIG = DEMO / "fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl"  # 438 lines, 167 tool calls


def team_totals(url: str, device: str) -> dict:
    """What the team store holds for one device."""
    usage = pg_rows(url, "SELECT count(*), coalesce(sum(messages), 0), coalesce(sum(input_tokens"
                         " + output_tokens + cache_creation_tokens + cache_read_tokens), 0),"
                         " coalesce(sum(cost_usd), 0) FROM blueplane.usage_facts"
                         " WHERE device_id = %s", device)[0]
    sessions = pg_rows(url, "SELECT count(*), coalesce(sum(tool_calls), 0), coalesce(sum("
                            "prompts), 0) FROM blueplane.session_facts WHERE device_id = %s",
                       device)[0]
    tools = pg_rows(url, "SELECT coalesce(sum(calls), 0), coalesce(sum(cardinality("
                         "latencies_ms)), 0) FROM blueplane.tool_facts WHERE device_id = %s",
                    device)[0]
    return {"messages": int(usage[1]), "tokens": int(usage[2]), "cost": float(usage[3]),
            "sessions": int(sessions[0]), "session_calls": int(sessions[1]),
            "prompts": int(sessions[2]), "tool_calls": int(tools[0]),
            "latencies": int(tools[1])}


def laptop_totals(laptop: Laptop) -> dict:
    messages, tokens, cost = laptop.rows("SELECT count(*), coalesce(sum(total_tokens), 0),"
                                         " coalesce(sum(cost_usd), 0) FROM token_usage")[0]
    sessions, calls, prompts = laptop.rows("SELECT count(*), coalesce(sum(tool_calls), 0),"
                                           " coalesce(sum(prompts), 0) FROM sessions")[0]
    tool_calls, latencies = laptop.rows("SELECT count(*), count(latency_ms) FROM tool_calls")[0]
    return {"messages": messages, "tokens": tokens, "cost": cost, "sessions": sessions,
            "session_calls": calls, "prompts": prompts, "tool_calls": tool_calls,
            "latencies": latencies}


def assert_mirrors(url: str, laptop: Laptop) -> None:
    device = laptop.json("team", "status", "--json")["device_id"]
    ours, theirs = team_totals(url, device), laptop_totals(laptop)
    assert abs(ours.pop("cost") - theirs.pop("cost")) <= 1e-9
    assert ours == theirs
    assert_no_duplicates(url)


def assert_no_duplicates(url: str) -> None:
    for table, key in (("session_facts", "device_id, session_key"),
                       ("usage_facts", "device_id, quarter_start_ms, platform, model, project"),
                       ("tool_facts", "device_id, day, platform, tool_name")):
        assert pg_rows(url, f"SELECT count(*) FROM (SELECT 1 FROM blueplane.{table}"
                            f" GROUP BY {key} HAVING count(*) > 1) d")[0][0] == 0


def published(laptop: Laptop, *args: str) -> dict:
    return laptop.json("team", "publish", "--json", *args)


def test_again_after_new_events_and_after_a_session_grew(team_url, laptops, tmp_path):  # noqa: F811
    laptop = laptops("grow", [p for p in PROJECTS if p.name.startswith("-tmp-tmp7")],
                     team_url=team_url)
    first = published(laptop)
    assert first["upserted"] > 0
    assert_mirrors(team_url, laptop)
    again = published(laptop)
    assert (again["upserted"], again["deleted"]) == (0, 0)
    assert_mirrors(team_url, laptop)

    # a new session, half written: the first 200 lines of the big Demo transcript
    target = laptop.claude / "projects" / DEMO.name / BIG.name
    target.parent.mkdir(parents=True)
    lines = BIG.read_bytes().splitlines(keepends=True)
    target.write_bytes(b"".join(lines[:200]))
    laptop.refresh()
    added = published(laptop)
    assert added["kinds"]["sessions"]["upserted"] == 1
    assert_mirrors(team_url, laptop)
    device = added["device_id"]
    before = pg_rows(team_url, "SELECT session_key, tool_calls, ended_at FROM "
                               "blueplane.session_facts WHERE device_id = %s"
                               " ORDER BY tool_calls DESC LIMIT 1", device)[0]

    # it grows: the rest of the file is appended, imported, and published again
    with target.open("ab") as fh:
        fh.write(b"".join(lines[200:]))
    laptop.refresh()
    grown = published(laptop)
    assert grown["kinds"]["sessions"]["upserted"] == 1  # that session, updated in place
    after = pg_rows(team_url, "SELECT session_key, tool_calls, ended_at FROM "
                              "blueplane.session_facts WHERE device_id = %s"
                              " ORDER BY tool_calls DESC LIMIT 1", device)[0]
    assert after[0] == before[0] and after[1] > before[1] and after[2] > before[2]
    assert after[1] == laptop.rows("SELECT max(tool_calls) FROM sessions")[0][0] == 167
    assert_mirrors(team_url, laptop)


def test_a_publish_killed_midway_then_rerun(team_url, laptops):  # noqa: F811
    laptop = laptops("kill", PROJECTS[:4], team_url=team_url)
    pg.open_store(team_url).close()  # the tables exist, so they can be locked
    locker = psycopg2.connect(team_url)
    with locker.cursor() as cur:  # tool facts cannot be written until we let go
        cur.execute("LOCK TABLE blueplane.tool_facts IN SHARE MODE")
    env = dict(os.environ, BLUEPLANE_HOME=str(laptop.home))
    proc = subprocess.Popen([sys.executable, "-m", "blueplane_cli.main", "team", "publish"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not pg_rows(team_url, "SELECT 1 FROM pg_stat_activity WHERE application_name ="
                                    " 'blueplane-publish' AND wait_event_type = 'Lock'"):
            assert proc.poll() is None and time.monotonic() < deadline, "publish never blocked"
            time.sleep(0.05)
        # sessions and usage are committed, tools are waiting: kill it there
        device = laptop.json("team", "status", "--json")["device_id"]
        midway = team_totals(team_url, device)
        assert midway["sessions"] > 0 and midway["messages"] > 0 and midway["tool_calls"] == 0
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        locker.rollback()
        locker.close()
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 30  # the killed client's server process goes away
    while pg_rows(team_url, "SELECT 1 FROM pg_stat_activity WHERE application_name ="
                            " 'blueplane-publish'"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert team_totals(team_url, device)["tool_calls"] == 0  # the killed batch left nothing
    rerun = published(laptop)
    assert rerun["kinds"]["sessions"]["upserted"] == 0  # recorded as committed before
    assert rerun["kinds"]["tools"]["upserted"] == rerun["kinds"]["tools"]["facts"] > 0
    assert_mirrors(team_url, laptop)


def test_lost_watermarks_and_a_recreated_store(team_url, laptops):  # noqa: F811
    laptop = laptops("lost", PROJECTS[4:7], team_url=team_url)
    published(laptop)
    rows = pg_rows(team_url, "SELECT count(*) FROM blueplane.usage_facts")[0][0]
    (laptop.home / "team" / "publish_state.db").unlink()  # as if it crashed before recording
    resent = published(laptop)
    assert resent["upserted"] == sum(k["facts"] for k in resent["kinds"].values())
    assert pg_rows(team_url, "SELECT count(*) FROM blueplane.usage_facts")[0][0] == rows
    assert_mirrors(team_url, laptop)
    # the team recreates its store: a new team id, so everything goes again
    with psycopg2.connect(team_url) as conn, conn.cursor() as cur:
        cur.execute("DROP SCHEMA blueplane CASCADE")
    conn.close()
    fresh = published(laptop)
    assert fresh["upserted"] == resent["upserted"]
    assert_mirrors(team_url, laptop)


def test_alias_share_policy_and_purge(team_url, laptops):  # noqa: F811
    laptop = laptops("policy", [DEMO, PROJECTS[0]], team_url=team_url)
    first = published(laptop)
    device = first["device_id"]
    labels = {r[0] for r in pg_rows(team_url, "SELECT DISTINCT project FROM "
                                              "blueplane.usage_facts")}
    assert all(label.startswith("p-") for label in labels) and len(labels) == 2

    laptop.cli("config", "set", "team.project_alias.Demo", "demo-app")
    renamed = published(laptop)
    assert renamed["deleted"] > 0  # the hashed label's rows went, the alias's came
    labels_after = {r[0] for r in pg_rows(team_url, "SELECT DISTINCT project FROM "
                                                    "blueplane.usage_facts")}
    assert "demo-app" in labels_after and len(labels_after) == 2
    assert_mirrors(team_url, laptop)

    laptop.cli("config", "set", "team.share", "usage")
    narrowed = published(laptop)
    assert narrowed["kinds"]["sessions"]["deleted"] == first["kinds"]["sessions"]["facts"]
    assert pg_rows(team_url, "SELECT count(*) FROM blueplane.session_facts")[0][0] == 0
    assert pg_rows(team_url, "SELECT count(*) FROM blueplane.tool_facts")[0][0] == 0
    assert team_totals(team_url, device)["messages"] == laptop_totals(laptop)["messages"]

    laptop.cli("config", "set", "team.share", "all")
    published(laptop)
    assert_mirrors(team_url, laptop)
    # a local purge of the oldest day: the team keeps what was published for it
    days = [r[0] for r in laptop.rows("SELECT DISTINCT day FROM sessions ORDER BY 1")]
    kept = team_totals(team_url, device)
    laptop.cli("purge", "--before", days[1], "--yes")
    laptop.refresh()
    after_purge = published(laptop)
    assert after_purge["deleted"] == 0
    assert after_purge["kinds"]["sessions"]["kept_purged"] > 0
    assert team_totals(team_url, device)["sessions"] == kept["sessions"]


def test_the_same_laptop_twice_at_once_and_a_cloned_home(team_url, laptops):  # noqa: F811
    laptop = laptops("twice", PROJECTS[7:], team_url=team_url)
    env = dict(os.environ, BLUEPLANE_HOME=str(laptop.home))
    procs = [subprocess.Popen([sys.executable, "-m", "blueplane_cli.main", "team", "publish",
                               "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert_mirrors(team_url, laptop)
    # a second home copied from this one shares its device id: still one set of rows
    clone = Laptop(Path(str(laptop.home) + "-clone"), laptop.claude)
    shutil.copytree(laptop.home, clone.home)
    try:
        published(clone)
        assert_mirrors(team_url, laptop)
    finally:
        shutil.rmtree(clone.home, ignore_errors=True)
