"""``blueplane export`` on a real-pipeline database: every format round-trips the table,
date ranges cut by day, ``--anonymize`` leaves no id, path or project name behind."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from blueplane_cli.anonymize import Anonymizer
from blueplane_cli.main import cli
from tests._telemetry_db import build_from_fixtures, temp_home


@pytest.fixture(scope="module")
def pipeline_db() -> Path:
    with temp_home() as home:
        yield build_from_fixtures(home)


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def table_rows(db: Path, table: str, where: str = "") -> list[dict]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} {where}")]
    finally:
        conn.close()


def test_json_csv_parquet_markdown_round_trip(pipeline_db, tmp_path):
    expected = table_rows(pipeline_db, "tool_calls")
    assert json.loads(run("export", "tool_calls").stdout) == expected
    run("export", "tool_calls", "--format", "csv", "-o", str(tmp_path / "t.csv"))
    with (tmp_path / "t.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["tool_use_id"] for r in rows] == [r["tool_use_id"] for r in expected]
    assert [r["status"] for r in rows] == [r["status"] for r in expected]
    run("export", "tool_calls", "--format", "parquet", "-o", str(tmp_path / "t.parquet"))
    assert pq.read_table(tmp_path / "t.parquet").to_pylist() == expected
    md = run("export", "tool_calls", "--format", "markdown").stdout.splitlines()
    assert md[0].startswith("| tool_use_id | session_id |")
    assert len(md) == 2 + len(expected)


def test_date_range_is_inclusive_by_day(pipeline_db):
    days = sorted({r["day"] for r in table_rows(pipeline_db, "sessions")})
    lo, hi = days[1], days[-2]
    got = json.loads(run("export", "sessions", "--since", lo, "--until", hi).stdout)
    want = table_rows(pipeline_db, "sessions", f"WHERE day >= '{lo}' AND day <= '{hi}'")
    assert {r["session_id"] for r in got} == {r["session_id"] for r in want}
    assert 0 < len(got) < len(table_rows(pipeline_db, "sessions"))


def test_all_tables_to_a_folder(pipeline_db, tmp_path):
    out = tmp_path / "dump"
    result = run("export", "all", "--format", "csv", "-o", str(out))
    names = {p.stem for p in out.iterdir()}
    assert {"sessions", "tool_calls", "turns", "file_edits", "metrics_daily", "tool_metrics",
            "insights", "token_usage"} <= names
    assert "tool_calls:" in result.stderr


def test_anonymize_hides_ids_paths_and_projects(pipeline_db, tmp_path):
    out = tmp_path / "anon"
    run("export", "all", "--format", "json", "--anonymize", "-o", str(out))
    text = "".join(p.read_text() for p in out.iterdir())
    sessions = table_rows(pipeline_db, "sessions")
    secrets = {r["session_id"] for r in sessions} | {r["project_path"] for r in sessions}
    secrets |= {r["project_name"] for r in sessions if len(r["project_name"] or "") > 3}
    secrets |= {r["file_path"] for r in table_rows(pipeline_db, "file_edits") if r["file_path"]}
    secrets |= {r["tool_use_id"] for r in table_rows(pipeline_db, "tool_calls")}
    assert len(secrets) > 20
    leaked = sorted(s for s in secrets if s and s in text)
    assert leaked == []
    # Hashes are stable across tables: joins survive anonymisation.
    calls = json.loads((out / "tool_calls.json").read_text())
    anon_sessions = {r["session_id"] for r in json.loads((out / "sessions.json").read_text())}
    assert {c["session_id"] for c in calls} <= anon_sessions
    edits = [e for e in json.loads((out / "file_edits.json").read_text()) if e["file_path"]]
    assert edits and all(e["file_path"].startswith("h_") for e in edits)
    assert all(e["file_path"].endswith(e["file_ext"]) for e in edits)  # extension kept
    assert all(r["title"] is None for r in json.loads((out / "sessions.json").read_text()))


def test_anonymizer_is_stable_and_salted():
    a, b, salted = Anonymizer(), Anonymizer(), Anonymizer("s3cret")
    assert a.hash("/home/me/proj") == b.hash("/home/me/proj") != salted.hash("/home/me/proj")
    assert a.path("src/App.TSX").endswith(".tsx")
    row = a.row(["kind", "subject", "insight_id", "title"],
                ["costly_session", "abc", "costly_session:abc", "Session abc cost $3"])
    assert row[1] == a.hash("abc") and row[2] == f"costly_session:{a.hash('abc')}"
    assert row[3] is None
    tool = a.row(["kind", "subject"], ["slow_tool", "Bash"])
    assert tool == ["slow_tool", "Bash"]


def test_export_errors_are_one_line(pipeline_db, tmp_path):
    result = CliRunner().invoke(cli, ["export", "sessions", "--format", "parquet"])
    assert result.exit_code == 1 and "parquet needs a file" in result.output
    blocked = tmp_path / "file"
    blocked.write_text("x")
    result = CliRunner().invoke(cli, ["export", "all", "-o", str(blocked / "sub")])
    assert result.exit_code == 1 and result.output.startswith("Error: cannot create")
    result = CliRunner().invoke(cli, ["export", "nope"])
    assert result.exit_code == 2
