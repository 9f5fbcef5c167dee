"""``blueplane team snapshot``: the team store as one SQLite file for Datasette, row for
row (arrays and JSON as JSON text, times as ISO text)."""

from __future__ import annotations

import json
import sqlite3

from tests._team import (
    PROJECTS,
    laptops,  # noqa: F401 - fixture
    pg_rows,
    team_url,  # noqa: F401 - fixture
)


def test_snapshot_copies_every_team_table(team_url, laptops, tmp_path):  # noqa: F811
    laptop = laptops("snap", PROJECTS[:5], team_url=team_url, developer="ada")
    laptop.cli("team", "publish")
    out = tmp_path / "team.db"
    result = laptop.cli("team", "snapshot", str(out))
    assert f"datasette {out}" in result.output
    lite = sqlite3.connect(out)
    for table in ("devices", "session_facts", "usage_facts", "tool_facts", "publishes"):
        assert lite.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == pg_rows(
            team_url, f"SELECT count(*) FROM blueplane.{table}")[0][0], table
    tokens = lite.execute("SELECT sum(input_tokens + output_tokens + cache_creation_tokens"
                          " + cache_read_tokens), sum(cost_usd) FROM usage_facts").fetchone()
    expected = laptop.rows("SELECT sum(total_tokens), sum(cost_usd) FROM token_usage")[0]
    assert tokens[0] == expected[0] and abs(tokens[1] - expected[1]) < 1e-9
    latencies = [json.loads(r[0]) for r in lite.execute("SELECT latencies_ms FROM tool_facts")]
    assert sum(map(len, latencies)) == laptop.rows(
        "SELECT count(latency_ms) FROM tool_calls")[0][0]
    mixes = [json.loads(r[0]) for r in lite.execute("SELECT models FROM session_facts")]
    assert all(isinstance(m, dict) for m in mixes) and any(mixes)
    lite.close()
    again = laptop.cli("team", "snapshot", str(out))  # replaced, not appended to
    assert again.exit_code == 0
    assert sqlite3.connect(out).execute("SELECT count(*) FROM devices").fetchone()[0] == 1
