"""The team rollups on real published facts: latency percentiles exact over every laptop's
calls (the laptop's own formula), acceptance and error rates by the laptop's definitions,
an outlier found where one was planted, and the sensor launching only on new facts."""

from __future__ import annotations

import uuid
from collections import defaultdict

import dagster as dg

from blueplane_pipeline.analytics.metrics import percentile
from blueplane_pipeline.team import pg, rollups
from blueplane_pipeline.team.definitions import team_facts_sensor
from blueplane_pipeline.team.resources import TeamStoreResource
from tests._team import (
    laptops,  # noqa: F401 - fixture
    pg_rows,
    team_url,  # noqa: F401 - fixture
    three_way_split,
)


def _rebuild(url: str, *names: str) -> None:
    conn = pg.open_store(url)
    try:
        for name in names or rollups.BUILDS:
            rollups.rebuild(conn, name)
    finally:
        conn.close()


def test_percentiles_and_rates_across_laptops(team_url, laptops):  # noqa: F811
    parts = three_way_split()
    devs = [laptops(n, p, team_url=team_url, developer=n) for n, p in zip("abc", parts,
                                                                          strict=True)]
    for laptop in devs:
        laptop.cli("team", "publish")
    _rebuild(team_url)
    latencies: dict[tuple, list[float]] = defaultdict(list)
    calls: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for laptop in devs:
        for day, tool, status, latency in laptop.rows(
                "SELECT day, tool_name, status, latency_ms FROM tool_calls"):
            if latency is not None:
                latencies[(day, tool)].append(latency)
            c = calls[(day, tool)]
            c[0] += 1
            c[1] += status == "error"
            c[2] += status == "success"
    rows = pg_rows(team_url, "SELECT day::text, tool_name, calls, error_rate, latency_p50_ms,"
                             " latency_p95_ms FROM blueplane.team_tool_daily")
    assert len(rows) == len(calls)
    for day, tool, n, error_rate, p50, p95 in rows:
        total, errors, success = calls[(day, tool)]
        assert n == total
        assert error_rate == (round(errors / (errors + success), 6) if errors + success
                              else None)
        values = latencies.get((day, tool), [])
        assert p50 == percentile(values, 50) and p95 == percentile(values, 95), (day, tool)

    accepted = sum(d.rows("SELECT sum(edits_accepted) FROM sessions")[0][0] for d in devs)
    assert pg_rows(team_url, "SELECT sum(edits_accepted) FROM blueplane.team_activity_daily"
                   ) == [(accepted,)]


def test_a_planted_outlier_is_found(team_url):  # noqa: F811
    pg.open_store(team_url).close()
    rows = []
    for dev in range(5):
        device = str(uuid.uuid4())
        for day in range(10):
            cost = 40.0 if (dev, day) == (3, 7) else 2.0
            quarter = (1_767_225_600_000 + day * 86_400_000)  # 2026-01-01 + day, 00:00 UTC
            rows.append((device, quarter, "claude_code", "m", "p-x", f"dev-{dev}", quarter,
                         quarter, 1, 1, 1, 1, 1, cost, False))
    with pg.open_store(team_url) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO blueplane.usage_facts (device_id, quarter_start_ms,"
                        " platform, model, project, developer, first_ms, last_ms, messages,"
                        " input_tokens, output_tokens, cache_creation_tokens,"
                        " cache_read_tokens, cost_usd, unpriced) VALUES"
                        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
    _rebuild(team_url, "team_usage_daily", "team_activity_daily", "team_outliers")
    found = pg_rows(team_url, "SELECT kind, subject, day::text, metric_value, baseline_value"
                              " FROM blueplane.team_outliers")
    assert found == [("cost_day", "dev-3", "2026-01-08", 40.0, 2.0)]


def test_the_sensor_runs_only_on_new_facts(team_url, laptops):  # noqa: F811
    laptop = laptops("s", three_way_split()[0], team_url=team_url)
    laptop.cli("team", "publish")
    resource = TeamStoreResource(url=team_url)
    with dg.instance_for_test() as instance:
        first = team_facts_sensor(dg.build_sensor_context(
            instance=instance, resources={"team_store": resource}))
        assert isinstance(first, dg.RunRequest)
        version = first.run_key.removeprefix("facts-")
        again = team_facts_sensor(dg.build_sensor_context(
            instance=instance, cursor=version, resources={"team_store": resource}))
        assert isinstance(again, dg.SkipReason) and "no new facts" in again.skip_message
        down = team_facts_sensor(dg.build_sensor_context(
            instance=instance, resources={"team_store": TeamStoreResource(
                url="postgresql://nobody@127.0.0.1:1/x")}))
        assert isinstance(down, dg.SkipReason) and "cannot connect" in down.skip_message
