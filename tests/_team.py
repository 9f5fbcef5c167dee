"""Shared by the team tests: a real Postgres database per test, and laptops built from the
real transcripts (imported, token usage and analytics refreshed) in their own homes.

The server is the one on 127.0.0.1:5432 (trust auth; CI runs one too), or
``BLUEPLANE_TEST_PG`` (an admin URL). Each test creates its own uniquely named database
and drops it afterwards; without a reachable server the team tests skip, saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import CLAUDE_HOME

PROJECTS = sorted(p for p in (CLAUDE_HOME / "projects").iterdir() if p.is_dir())
ADMIN_CANDIDATES = [os.environ["BLUEPLANE_TEST_PG"]] if os.environ.get("BLUEPLANE_TEST_PG") \
    else ["postgresql://postgres@127.0.0.1:5432/postgres",
          "postgresql://root@127.0.0.1:5432/postgres"]


def _admin():
    import psycopg2

    errors = []
    for url in ADMIN_CANDIDATES:
        try:
            conn = psycopg2.connect(url, connect_timeout=3)
        except psycopg2.Error as exc:
            errors.append(f"{url}: {str(exc).strip().splitlines()[0]}")
            continue
        conn.autocommit = True
        return conn, url
    pytest.skip("no Postgres server reachable for the team tests (" + "; ".join(errors) + ")")


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database; its URL. Dropped (connections and all) afterwards."""
    admin, admin_url = _admin()
    name = f"bp_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def team_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def pg_rows(url: str, sql: str, *params) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


@contextlib.contextmanager
def as_home(home: Path) -> Iterator[Path]:
    """``BLUEPLANE_HOME`` pointed at ``home`` for the duration (restored afterwards)."""
    before = os.environ.get("BLUEPLANE_HOME")
    os.environ["BLUEPLANE_HOME"] = str(home)
    try:
        yield home
    finally:
        if before is None:
            os.environ.pop("BLUEPLANE_HOME", None)
        else:
            os.environ["BLUEPLANE_HOME"] = before


@dataclass
class Laptop:
    home: Path
    claude: Path  # its own CLAUDE_CONFIG_DIR-like tree

    @property
    def db(self) -> Path:
        return self.home / "telemetry.db"

    def cli(self, *args: str, ok: bool = True):
        from blueplane_cli.main import cli

        with as_home(self.home):
            result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str):
        return json.loads(self.cli(*args).stdout)

    def refresh(self) -> None:
        """Import the tree (Redis down: through the spool), then token usage and analytics."""
        from blueplane_pipeline.analytics.refresh import refresh_all
        from blueplane_pipeline.core.pricing import load_price_table
        from blueplane_pipeline.sources.run import run_import
        from blueplane_pipeline.storage.db import open_db
        from blueplane_pipeline.usage.store import refresh

        with as_home(self.home):
            run_import("claude_code", [self.claude], db_path=self.db,
                       redis_url=f"unix://{self.home}/no-redis.sock")
            conn = open_db(self.db)
            try:
                refresh(conn, load_price_table())
                refresh_all(conn)
            finally:
                conn.close()

    def rows(self, sql: str, *params) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def make_laptop(root: Path, name: str, projects: list[Path], team_url: str | None = None,
                developer: str | None = None) -> Laptop:
    """A home with a copy of ``projects`` (project folders of the real transcripts)."""
    home = Path(tempfile.mkdtemp(prefix=f"bpt-{name}-", dir="/tmp"))
    claude = root / f"claude-{name}"
    for project in projects:
        shutil.copytree(project, claude / "projects" / project.name)
    laptop = Laptop(home, claude)
    laptop.refresh()
    if team_url:
        laptop.cli("config", "set", "team.url", team_url)
    if developer:
        laptop.cli("config", "set", "team.developer", developer)
    return laptop


def three_way_split() -> list[list[Path]]:
    """The real transcripts' project folders split three ways (every third)."""
    return [PROJECTS[i::3] for i in range(3)]


def sum_daily(reports: list[dict]) -> dict[str, dict]:
    """Per date: the four token counts, the total and the cost summed over reports, and
    the per-model token counts and cost."""
    out: dict[str, dict] = {}
    for report in reports:
        for day in report["daily"]:
            acc = out.setdefault(day["date"], {"tokens": [0, 0, 0, 0, 0], "cost": 0.0,
                                               "models": {}})
            for i, k in enumerate(("inputTokens", "outputTokens", "cacheCreationTokens",
                                   "cacheReadTokens", "totalTokens")):
                acc["tokens"][i] += day[k]
            acc["cost"] += day["totalCost"]
            for b in day["modelBreakdowns"]:
                m = acc["models"].setdefault(b["modelName"], [0, 0, 0, 0, 0.0])
                for i, k in enumerate(("inputTokens", "outputTokens", "cacheCreationTokens",
                                       "cacheReadTokens")):
                    m[i] += b[k]
                m[4] += b["cost"]
    return out


def assert_same_days(ours: dict[str, dict], expected: dict[str, dict]) -> None:
    assert sorted(ours) == sorted(expected)
    for date, exp in expected.items():
        got = ours[date]
        assert got["tokens"] == exp["tokens"], date
        assert abs(got["cost"] - exp["cost"]) <= 1e-9, (date, got["cost"], exp["cost"])
        assert set(got["models"]) == set(exp["models"]), date
        for model, vals in exp["models"].items():
            assert got["models"][model][:4] == vals[:4], (date, model)
            assert abs(got["models"][model][4] - vals[4]) <= 1e-9, (date, model)


@pytest.fixture
def laptops(tmp_path):
    """``laptops(name, projects, **kw)`` makes a laptop; all are removed afterwards."""
    made: list[Laptop] = []

    def make(name: str, projects: list[Path], **kw) -> Laptop:
        laptop = make_laptop(tmp_path, name, projects, **kw)
        made.append(laptop)
        return laptop

    yield make
    for laptop in made:
        shutil.rmtree(laptop.home, ignore_errors=True)
