"""Two laptops publishing at the same moment into one team Postgres: no lost update, no
duplicate. Many small batches each (one transaction apiece) interleave on the server."""

from __future__ import annotations

import threading

from blueplane_pipeline.team import settings
from blueplane_pipeline.team.publish import publish
from tests._team import (
    laptops,  # noqa: F401 - fixture
    pg_rows,
    team_url,  # noqa: F401 - fixture
    three_way_split,
)
from tests.team.test_team_incremental import assert_mirrors


def test_two_laptops_at_the_same_moment(team_url, laptops):  # noqa: F811
    parts = three_way_split()
    devs = [laptops("p", parts[0] + parts[2], team_url=team_url, developer="pat"),
            laptops("q", parts[1], team_url=team_url, developer="quinn")]
    for full in (False, True):  # the first publish, then a --full one, both at once
        barrier = threading.Barrier(len(devs))
        results, errors = {}, []

        def run(laptop, full=full, barrier=barrier, results=results, errors=errors) -> None:
            try:
                team = settings.load(laptop.home)
                barrier.wait()
                results[laptop.home] = publish(laptop.home, team, full=full, batch_rows=3)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(d,)) for d in devs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert len(results) == 2 and all(r.upserted > 10 for r in results.values())
        for laptop in devs:
            assert_mirrors(team_url, laptop)
        (a_start, a_end), (b_start, b_end) = pg_rows(
            team_url, "SELECT started_at, finished_at FROM blueplane.publishes"
                      " ORDER BY id DESC LIMIT 2")
        assert a_start < b_end and b_start < a_end  # the two publishes overlapped
    # many batches really did interleave: each device committed in several transactions
    assert pg_rows(team_url, "SELECT version FROM blueplane.facts_version")[0][0] > 20
    assert pg_rows(team_url, "SELECT count(DISTINCT developer) FROM blueplane.usage_facts") == [
        (2,)]
