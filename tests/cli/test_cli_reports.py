"""The report commands on a database built by the real pipeline (fixture transcripts ->
importer -> Redis -> ingest -> token_usage + analytics refresh), checked against the tables
and against ccusage's totals for the same files."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueplane_cli.main import cli
from tests._telemetry_db import build_from_fixtures, file_digest, temp_home

DOCTACON = "38cc65a3-09b0-4865-aafd-d4f65d638a61"
# ccusage 20.0.24 over the same transcripts (tests/fixtures/real/README.md).
CCUSAGE = {"input_tokens": 1_711, "output_tokens": 78_687, "cache_creation_tokens": 482_714,
           "cache_read_tokens": 10_428_883, "cost_usd": 6.5944}


@pytest.fixture(scope="module")
def pipeline_db() -> Path:
    with temp_home() as home:
        yield build_from_fixtures(home)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def run_json(*args: str):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def query(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def inclusive_percentiles(values: list[float]) -> tuple[float, float, float]:
    """numpy's default (linear) percentiles, computed independently with ``statistics``."""
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94], q[98]


# ---------------------------------------------------------------------------- metrics


def test_metrics_all_matches_the_tables_and_ccusage(pipeline_db):
    data = run_json("metrics", "--period", "all")
    m = data["metrics"]
    calls, ok, err, rej, intr = query(
        pipeline_db, "SELECT count(*), sum(status='success'), sum(status='error'),"
        " sum(status='rejected'), sum(status='interrupted') FROM tool_calls")[0]
    assert (m["tool_calls"], m["tool_success"], m["tool_errors"], m["tool_rejected"],
            m["tool_interrupted"]) == (calls, ok, err, rej, intr)
    assert m["error_rate"] == pytest.approx(err / (ok + err))
    assert m["interruption_rate"] == pytest.approx(intr / calls)
    assert m["sessions"] == query(pipeline_db, "SELECT count(*) FROM sessions")[0][0]
    assert m["prompts"] == query(pipeline_db, "SELECT count(*) FROM turns")[0][0]
    acc, rej_edits = query(pipeline_db, "SELECT sum(accepted = 1), sum(accepted = 0)"
                                        " FROM file_edits")[0]
    assert (m["edits_accepted"], m["edits_rejected"]) == (acc, rej_edits)
    assert m["acceptance_rate"] == pytest.approx(acc / (acc + rej_edits))
    for key, expected in CCUSAGE.items():
        assert m[key] == pytest.approx(expected, abs=0.001), key
    latencies = [r[0] for r in query(
        pipeline_db, "SELECT latency_ms FROM tool_calls WHERE latency_ms IS NOT NULL")]
    p50, p95, p99 = inclusive_percentiles(latencies)
    assert m["latency_p50_ms"] == pytest.approx(p50, abs=0.01)
    assert m["latency_p95_ms"] == pytest.approx(p95, abs=0.01)
    assert m["latency_p99_ms"] == pytest.approx(p99, abs=0.01)
    assert data["previous"] is None  # no period before "all"
    assert data["backlog"] == {"events_waiting": 0, "oldest_waiting": None,
                               "days_waiting": 0}  # the analytics are up to date


@pytest.mark.parametrize("group_by", ["day", "model", "project", "platform", "tool"])
def test_metrics_groups_add_up_to_the_total(pipeline_db, group_by):
    total = run_json("metrics", "--period", "all")["metrics"]
    rows = run_json("metrics", "--period", "all", "--group-by", group_by)
    assert rows and all(group_by in r for r in rows)
    assert sum(r["tool_calls"] for r in rows) == total["tool_calls"]
    if group_by != "tool":  # tools have no sessions or tokens of their own
        assert sum(r["sessions"] for r in rows) == total["sessions"]
        assert sum(r["total_tokens"] for r in rows) == total["total_tokens"]


def test_metrics_group_by_tool_percentiles_are_exact_per_tool(pipeline_db):
    rows = {r["tool"]: r for r in run_json("metrics", "--period", "all", "--group-by", "tool")}
    values = [r[0] for r in query(pipeline_db, "SELECT latency_ms FROM tool_calls WHERE"
                                  " tool_name = 'Bash' AND latency_ms IS NOT NULL")]
    assert rows["Bash"]["latency_p95_ms"] == pytest.approx(inclusive_percentiles(values)[1],
                                                           abs=0.01)


def test_metrics_project_filter(pipeline_db):
    data = run_json("metrics", "--period", "all", "--project", "chat-pdf-via-rag")
    calls = query(pipeline_db, "SELECT count(*) FROM tool_calls WHERE session_id = ?",
                  DOCTACON)[0][0]
    assert data["metrics"]["sessions"] == 1
    assert data["metrics"]["tool_calls"] == calls
    result = run("metrics", "--period", "all", "--project", "no-such-project")
    assert result.exit_code == 0
    assert "no sessions in a project named 'no-such-project'" in result.output


def test_metrics_table_and_chart(pipeline_db):
    result = run("metrics", "--period", "all", "--group-by", "day", "--chart")
    assert result.exit_code == 0, result.output
    assert "Metrics by day" in result.output
    assert "tool_calls by day" in result.output and "█" in result.output
    csv_rows = list(csv.DictReader(io.StringIO(run("metrics", "--period", "all",
                                                   "--format", "csv").output)))
    assert {r["metric"] for r in csv_rows} >= {"sessions", "latency_p95_ms", "cost_usd"}


def test_metrics_rejects_bad_options(pipeline_db):
    result = run("metrics", "--period", "fortnight")
    assert result.exit_code == 1
    assert "unknown period 'fortnight'" in result.output
    assert "Traceback" not in result.output
    assert run("metrics", "--chart-metric", "nonsense").exit_code == 2


# --------------------------------------------------------------------------- sessions


def test_sessions_pages_newest_first(pipeline_db):
    expected = [r[0] for r in query(pipeline_db, "SELECT session_id FROM sessions"
                                    " ORDER BY started_at DESC, session_id")]
    first = run_json("sessions", "--limit", "5")
    second = run_json("sessions", "--limit", "5", "--offset", "5")
    assert first["total"] == len(expected)
    assert [s["session_id"] for s in first["sessions"] + second["sessions"]] == expected[:10]


def test_sessions_filters(pipeline_db):
    by_project = run_json("sessions", "--project", "chat-pdf-via-rag")["sessions"]
    assert [s["session_id"] for s in by_project] == [DOCTACON]
    rates = dict(query(pipeline_db, "SELECT session_id, acceptance_rate FROM sessions"))
    kept = {s["session_id"] for s in run_json("sessions", "--min-acceptance", "50%",
                                              "-n", "100")["sessions"]}
    assert kept == {sid for sid, rate in rates.items() if rate is not None and rate >= 0.5}
    assert kept != set(rates)  # the filter removed something
    window = run_json("sessions", "--since", "2025-09-01", "--until", "2025-09-08", "-n", "100")
    starts = [s["started_at"] for s in window["sessions"]]
    assert starts and all("2025-09-01" <= s < "2025-09-09" for s in starts)
    assert run("sessions", "--min-acceptance", "150%").exit_code == 2
    bad = run("sessions", "--since", "last tuesday")
    assert bad.exit_code == 1 and "not a date" in bad.output


# ---------------------------------------------------------------------------- analyze


def test_analyze_session(pipeline_db, tmp_path):
    detail = run_json("analyze", DOCTACON[:8])
    s = detail["session"]
    assert s["session_id"] == DOCTACON
    turns = query(pipeline_db, "SELECT count(*) FROM turns WHERE session_id = ?", DOCTACON)[0][0]
    assert len(detail["turns"]) == turns
    assert all(isinstance(t["timeline"], list) for t in detail["turns"])
    assert sum(t["calls"] for t in detail["tools"]) == s["tool_calls"]
    edits = query(pipeline_db, "SELECT count(*) FROM file_edits WHERE session_id = ?",
                  DOCTACON)[0][0]
    assert sum(f["edits"] for f in detail["files"]) == edits
    table = run("analyze", DOCTACON, "--export", str(tmp_path / "a.md"))
    assert table.exit_code == 0, table.output
    assert "Timeline" in table.output and "Tools" in table.output
    md = (tmp_path / "a.md").read_text()
    assert md.startswith(f"# Session {DOCTACON}") and "## Timeline" in md
    run("analyze", DOCTACON, "--export", str(tmp_path / "a.json"), "--format", "csv")
    assert json.loads((tmp_path / "a.json").read_text())["session"]["session_id"] == DOCTACON


def test_analyze_unknown_session_suggests_close_ids(pipeline_db):
    typo = DOCTACON[:-1] + ("0" if DOCTACON[-1] != "0" else "1")
    result = run("analyze", typo)
    assert result.exit_code == 1
    assert f"no session '{typo}'; did you mean {DOCTACON}" in result.output
    assert "Traceback" not in result.output
    nothing = run("analyze", "zzzz-not-a-session")
    assert nothing.exit_code == 1 and "blueplane sessions" in nothing.output


# ------------------------------------------------------------------ tools, insights, watch


def test_tools_match_tool_calls(pipeline_db):
    rows = {r["tool_name"]: r for r in run_json("tools", "--period", "all", "--limit", "100")}
    expected = query(pipeline_db, "SELECT tool_name, count(*), sum(status = 'error'),"
                     " sum(status = 'rejected') FROM tool_calls GROUP BY tool_name")
    assert set(rows) == {r[0] for r in expected}
    for name, calls, errors, rejected in expected:
        assert (rows[name]["calls"], rows[name]["errors"], rows[name]["rejected"]) == (
            calls, errors, rejected)
    by_p95 = run_json("tools", "--period", "all", "--sort", "p95")
    p95s = [r["latency_p95_ms"] for r in by_p95 if r["latency_p95_ms"] is not None]
    assert p95s == sorted(p95s, reverse=True)


def test_insights_are_the_stored_rows(pipeline_db):
    rows = run_json("insights")
    stored = query(pipeline_db, "SELECT insight_id FROM insights")
    assert {r["insight_id"] for r in rows} == {r[0] for r in stored}
    assert all(isinstance(r["evidence"], (dict, list)) for r in rows)
    table = run("insights", "-v")
    assert table.exit_code == 0 and "SELECT" in table.output


def test_watch_once(pipeline_db):
    data = run_json("watch", "--once")
    newest = query(pipeline_db, "SELECT session_id FROM sessions ORDER BY ended_at DESC"
                   " LIMIT 1")[0][0]
    assert data["sessions"][0]["session_id"] == newest
    assert {"today", "tool_calls", "last_event"} <= set(data)
    view = run("watch", "--once")
    assert view.exit_code == 0 and "Today" in view.output and "Latest tool calls" in view.output


# ------------------------------------------------------------------ read-only, imports


REPORTS = [
    ["metrics", "--period", "all"], ["metrics", "--period", "24h", "--group-by", "model"],
    ["sessions"], ["analyze", DOCTACON], ["tools", "--period", "all"], ["insights"],
    ["watch", "--once"], ["export", "sessions", "--format", "csv"],
]


def test_reports_never_write(pipeline_db):
    before = file_digest(pipeline_db)
    for args in REPORTS:
        for fmt in ("table", "json", "csv") if args[0] != "export" else ("csv",):
            extra = [] if args[0] == "export" else ["--format", fmt]
            result = run(*args, *extra)
            assert result.exit_code == 0, (args, fmt, result.output)
    assert file_digest(pipeline_db) == before


def test_report_commands_import_neither_dagster_nor_pandas(pipeline_db, tmp_path):
    out = tmp_path / "modules.json"
    script = (
        "import json, sys\n"
        "from blueplane_cli.main import cli\n"
        "heavy = {}\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        cli.main(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    heavy[' '.join(args)] = sorted(m for m in sys.modules\n"
        "        if m.split('.')[0] in ('dagster', 'pandas', 'pyarrow', 'mcp', 'redis'))\n"
        "open(sys.argv[2], 'w').write(json.dumps(heavy))\n"
    )
    env = {"BLUEPLANE_HOME": str(pipeline_db.parent), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(REPORTS), str(out)],
                          capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    heavy = json.loads(out.read_text())
    assert set(heavy) == {" ".join(a) for a in REPORTS}
    assert heavy == {k: [] for k in heavy}


def test_platform_choices_come_from_the_registry(pipeline_db):
    from blueplane_pipeline.core import platforms

    platforms.register(platforms.Platform("fake_ai", "fake-ai", "Fake AI"))
    try:
        assert run_json("metrics", "--period", "all", "--platform", "fake_ai"
                        )["metrics"]["sessions"] == 0
        assert run_json("sessions", "--platform", "fake_ai")["total"] == 0
        refused = run("tools", "--platform", "vscode")
        assert refused.exit_code == 2
        assert "'vscode' is not one of" in refused.output
        assert "'claude_code', 'cursor', 'codex'" in refused.output
        assert "'fake_ai'" in refused.output
    finally:
        platforms.unregister("fake_ai")
    assert run("metrics", "--platform", "fake_ai").exit_code == 2


# ------------------------------------------------------------------- no data yet


def test_no_database_is_one_clear_line(bp_home):
    for args in REPORTS:
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output.startswith("Error: no database at ")
        assert "Traceback" not in result.output
    assert not (bp_home / "telemetry.db").exists()  # a reader creates nothing


def test_empty_database_reports_nothing_yet(bp_home):
    from blueplane_pipeline.storage.db import open_db

    open_db(bp_home / "telemetry.db").close()
    metrics = run_json("metrics", "--period", "7d")
    assert metrics["metrics"]["sessions"] == 0 and metrics["metrics"]["error_rate"] is None
    table = run("metrics")
    assert table.exit_code == 0 and "No activity in this window" in table.output
    sessions = run("sessions")
    assert sessions.exit_code == 0 and "No sessions yet" in sessions.output
    assert run_json("sessions")["total"] == 0
    assert run_json("tools") == []
    assert run("insights").exit_code == 0


def test_older_schema_and_foreign_files_are_one_clear_line(bp_home):
    from blueplane_pipeline.storage.db import connect
    from blueplane_pipeline.storage.migrations import MIGRATIONS

    conn = connect(bp_home / "telemetry.db")
    for statement in MIGRATIONS[0][1].split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version=1")
    conn.close()
    result = run("metrics")
    assert result.exit_code == 1
    assert "not built yet (database schema v1)" in result.output
    assert "blueplane refresh" in result.output
    for args in (["sessions"], ["analyze", "x"], ["tools"], ["insights"], ["watch", "--once"]):
        out = run(*args)
        assert out.exit_code == 1 and out.output.startswith("Error: table "), args
    (bp_home / "telemetry.db").write_bytes(b"this is not sqlite" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{bp_home / 'telemetry.db'}{suffix}").unlink(missing_ok=True)
    garbage = run("sessions")
    assert garbage.exit_code == 1 and "not a readable Blueplane database" in garbage.output


# ------------------------------------------------------------------- shell completion


def _complete(db: Path, words: str) -> list[str]:
    env = {"BLUEPLANE_HOME": str(db.parent), "PATH": "/usr/bin:/bin",
           "_BLUEPLANE_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - 1)}
    script = "from blueplane_cli.main import cli; cli(prog_name='blueplane')"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]


def test_shell_completion_reads_sessions_and_projects(pipeline_db):
    assert _complete(pipeline_db, "blueplane analyze 38") == [DOCTACON]
    assert _complete(pipeline_db, "blueplane sessions --project chat") == ["chat-pdf-via-rag"]
    assert _complete(pipeline_db, "blueplane metrics --period 3") == ["30d"]
    assert "metrics" in _complete(pipeline_db, "blueplane met")


def test_reports_read_while_a_writer_holds_the_database(pipeline_db):
    """WAL: a report neither waits for nor sees an uncommitted write transaction."""
    from blueplane_pipeline.storage.db import connect

    before = run_json("metrics", "--period", "all")["metrics"]["sessions"]
    writer = connect(pipeline_db)
    writer.execute("BEGIN IMMEDIATE")
    try:
        cols = [c for (c,) in writer.execute("SELECT name FROM pragma_table_info('sessions')")]
        writer.execute(f"INSERT INTO sessions ({', '.join(cols)}) SELECT 'uncommitted-' ||"
                       f" session_id, {', '.join(cols[1:])} FROM sessions")
        assert run_json("sessions")["total"] == before
        assert run("metrics", "--period", "all").exit_code == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
