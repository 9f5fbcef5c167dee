"""The database roles of docs/team.md, run as written: the owner creates the tables, the
publisher role publishes (it may not create anything), the reader role reads the reports
and cannot publish (one clear line)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg2

from blueplane_pipeline.team import pg
from tests._team import (
    PROJECTS,
    laptops,  # noqa: F401 - fixture
    pg_rows,
    team_url,  # noqa: F401 - fixture
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "team.md"
ROLES = ("blueplane_owner", "blueplane_publisher", "blueplane_reader")


def doc_sql() -> list[str]:
    """The statements of the ```sql block of docs/team.md, in order."""
    block = re.search(r"```sql\n(.*?)```", DOC.read_text(), re.S).group(1)
    text = re.sub(r"--[^\n]*", "", block)
    return [s.strip() for s in text.split(";") if s.strip()]


def with_user(url: str, user: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}@{rest.split('@', 1)[1]}"


def test_the_documented_roles(team_url, laptops):  # noqa: F811
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"{role}_{suffix}" for role in ROLES}
    db = team_url.rsplit("/", 1)[1]
    statements = []
    for sql in doc_sql():
        if sql.startswith("CREATE DATABASE"):
            continue
        sql = re.sub(r" PASSWORD '[^']*'", "", sql).replace("DATABASE blueplane",
                                                          f'DATABASE "{db}"')
        for role, name in names.items():
            sql = sql.replace(role, name)
        statements.append(sql)
    split = next(i for i, s in enumerate(statements) if names["blueplane_publisher"] in s)
    admin = psycopg2.connect(team_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            for sql in statements[:split]:
                cur.execute(sql)
            # the owner's first use creates the tables (as `blueplane team up` does)
            pg.open_store(with_user(team_url, names["blueplane_owner"])).close()
            for sql in statements[split:]:
                cur.execute(sql)

        laptop = laptops("roles", PROJECTS[:3])
        laptop.cli("config", "set", "team.url", with_user(team_url, names["blueplane_publisher"]))
        out = laptop.json("team", "publish", "--json")
        assert out["upserted"] > 0
        assert laptop.json("team", "publish", "--json")["upserted"] == 0
        sessions = laptop.rows("SELECT count(*) FROM sessions")[0][0]
        assert pg_rows(team_url, "SELECT count(*) FROM blueplane.session_facts") == [
            (sessions,)]

        laptop.cli("config", "set", "team.url", with_user(team_url, names["blueplane_reader"]))
        report = laptop.json("team", "report", "developers", "--json")
        assert report["totals"]["sessions"] == sessions
        refused = laptop.cli("team", "publish", "--full", ok=False)
        assert refused.exit_code == 1 and "permission denied" in refused.output
        assert len(refused.output.strip().splitlines()) == 1
    finally:
        with admin.cursor() as cur:
            for name in names.values():
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
                if cur.fetchone():
                    cur.execute(f'DROP OWNED BY "{name}" CASCADE')
                    cur.execute(f'DROP ROLE "{name}"')
        admin.close()
